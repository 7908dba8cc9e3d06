// The README's TypeScript examples, type-checked against the public entry (lib/index.ts,
// imported as 'mist-vad') with the package's own compiler options, so that the README cannot
// drift from the API: a block that names an export, an option or a result field that does not
// exist fails here, with its line in README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import ts from 'typescript';
import * as assert from 'uvu/assert';

import { ROOT, test } from './helpers.js';

/** One fenced ```ts block: the README line of its first code line, and its text. */
interface Block {
  line: number;
  code: string;
}

/** The ```ts (or ```typescript) blocks of a Markdown text, in order. */
function tsBlocks(markdown: string): Block[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    assert.ok(end < lines.length, `README.md:${i + 1}: a \`\`\`ts block is not closed`);
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The compiler options of tsconfig.json, with 'mist-vad' mapped to lib/index.ts. */
function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  return {
    ...parsed.options,
    noEmit: true,
    rootDir: ROOT,
    paths: { 'mist-vad': [join(ROOT, 'lib', 'index.ts')] },
  };
}

/** One compiler error: the block it is in (none for an options error) and its message. */
interface Problem {
  block?: Block;
  message: string;
}

/**
 * Type-checks each block as a module of its own (beside package.json, so ESM with top-level
 * await, as a user's file would be). Returns one problem per error in a block, its message
 * naming the README line; errors elsewhere (lib/ itself) are the type-check step's, not this
 * test's.
 */
function typeCheck(blocks: readonly Block[]): Problem[] {
  const options = compilerOptions();
  const files = new Map<string, Block>();
  blocks.forEach((b, i) => files.set(join(ROOT, `readme-example-${i + 1}.ts`), b));
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const b = files.get(fileName);
    return b
      ? ts.createSourceFile(fileName, b.code, languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => files.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => files.get(fileName)?.code ?? readFile(fileName);

  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const out: Problem[] = [];
  for (const d of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]) {
    out.push({ message: `compiler: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}` });
  }
  for (const [fileName, b] of files) {
    const sf = program.getSourceFile(fileName);
    assert.ok(sf, `${fileName} was not compiled`);
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      out.push({ block: b, message: `README.md:${b.line + line}:${character + 1}: TS${d.code}: ${text}` });
    }
  }
  return out;
}

test('every ```ts block of README.md type-checks against the public API', () => {
  const blocks = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(blocks.length >= 10, `README.md has ${blocks.length} \`\`\`ts blocks; the API section has more`);
  // One block imports a name the API lacks, one passes an option it lacks: both must fail, or
  // the check itself is broken (a 'mist-vad' that resolved to nothing would type as any).
  const missingExport: Block = {
    line: 0,
    code: "import { noSuchExport } from 'mist-vad';\nconsole.log(noSuchExport);",
  };
  const unknownOption: Block = {
    line: 0,
    code: "import { evaluate } from 'mist-vad';\nevaluate({ noSuchOption: 1 });",
  };
  const problems = typeCheck([...blocks, missingExport, unknownOption]);
  assert.ok(
    problems.some((p) => p.block === missingExport),
    'a block importing a missing export type-checked',
  );
  assert.ok(
    problems.some((p) => p.block === unknownOption),
    'a block passing an unknown option type-checked',
  );
  const real = problems.filter((p) => p.block !== missingExport && p.block !== unknownOption).map((p) => p.message);
  assert.equal(real, [], `README.md examples do not type-check:\n${real.join('\n')}`);
});

test.run();

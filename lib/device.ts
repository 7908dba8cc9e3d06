import { z } from 'zod';

import { deviceFromEnv } from './config.js';
import { native } from './native.js';
import { parseOptions } from './options.js';

/** 'cpu' | 'cuda' | 'cuda:N': the one device option every API takes. */
export const DeviceSchema = z
  .string({ error: "must be 'cpu', 'cuda' or 'cuda:N'" })
  .regex(/^(cpu|cuda|cuda:\d+)$/, { error: "must be 'cpu', 'cuda' or 'cuda:N'" });
/** `cpu`, `cuda` or `cuda:N`. */
export type Device = z.infer<typeof DeviceSchema>;

/** The device to use: the one given, else MIST_DEVICE, else CUDA when available, else CPU. */
export function resolveDevice(device?: string): Device {
  const d = device ?? deviceFromEnv();
  if (d !== undefined) return parseOptions(DeviceSchema, d, 'device');
  return native().info().cudaAvailable ? 'cuda' : 'cpu';
}

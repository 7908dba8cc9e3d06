#include "torch_pickle.h"

#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <unordered_map>

#include "errors.h"

namespace mist {

const PyValue* PyValue::find(const std::string& key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& e : *entries) {
    if (e.first.kind == Kind::kString && e.first.s == key) return &e.second;
  }
  return nullptr;
}

namespace {

PyValue Scalar(PyValue::Kind k) {
  PyValue v;
  v.kind = k;
  return v;
}
PyValue Int(int64_t i) {
  auto v = Scalar(PyValue::Kind::kInt);
  v.i = i;
  return v;
}
PyValue Str(std::string s, PyValue::Kind k = PyValue::Kind::kString) {
  auto v = Scalar(k);
  v.s = std::move(s);
  return v;
}
PyValue Seq(PyValue::Kind k, std::vector<PyValue> items = {}) {
  auto v = Scalar(k);
  v.items = std::make_shared<std::vector<PyValue>>(std::move(items));
  return v;
}
PyValue Dict() {
  auto v = Scalar(PyValue::Kind::kDict);
  v.entries = std::make_shared<std::vector<std::pair<PyValue, PyValue>>>();
  return v;
}
PyValue Opaque(const std::string& what) { return Str(what, PyValue::Kind::kOther); }

at::ScalarType StorageDtype(const std::string& name) {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},       {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},       {"torch.CharStorage", at::kChar},     {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},         {"torch.UntypedStorage", at::kByte},
  };
  auto it = types.find(name);
  Check(it != types.end(), code::kWeights, "unsupported storage type " + name);
  return it->second;
}

std::vector<int64_t> Ints(const PyValue& v, const char* what) {
  Check(v.kind == PyValue::Kind::kTuple || v.kind == PyValue::Kind::kList, code::kWeights,
        std::string("malformed tensor record (") + what + ")");
  std::vector<int64_t> out;
  for (const auto& e : *v.items) {
    Check(e.kind == PyValue::Kind::kInt, code::kWeights, std::string("malformed tensor record (") + what + ")");
    out.push_back(e.i);
  }
  return out;
}

class Unpickler {
 public:
  // `zip` holds the tensor records (zip format); null for the legacy format, whose storages
  // are created empty here and filled from the bytes after the pickles (FillLegacyStorages).
  Unpickler(const uint8_t* data, size_t size, caffe2::serialize::PyTorchStreamReader* zip,
            std::map<std::string, at::Tensor>& storages)
      : p_(data), end_(data + size), zip_(zip), storages_(storages) {}

  const uint8_t* pos() const { return p_; }

  PyValue Run() {
    while (true) {
      const uint8_t op = U8();
      switch (op) {
        case 0x80:
          U8();
          break;  // PROTO
        case 0x95:
          Bytes(8);
          break;  // FRAME
        case '.':
          Need(1);
          return stack_.back();  // STOP
        case '(':
          marks_.push_back(stack_.size());
          break;
        case '0':
          Need(1);
          stack_.pop_back();
          break;
        case '1':
          PopMark();
          break;
        case '2':
          Need(1);
          stack_.push_back(stack_.back());
          break;
        case 'N':
          stack_.push_back(PyValue());
          break;
        case 0x88:
        case 0x89: {
          auto v = Scalar(PyValue::Kind::kBool);
          v.b = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'J':
          stack_.push_back(Int(static_cast<int32_t>(Le(4))));
          break;
        case 'K':
          stack_.push_back(Int(static_cast<int64_t>(Le(1))));
          break;
        case 'M':
          stack_.push_back(Int(static_cast<int64_t>(Le(2))));
          break;
        case 0x8a:
          stack_.push_back(Int(Long(U8())));
          break;
        case 0x8b:
          stack_.push_back(Int(Long(static_cast<size_t>(Le(4)))));
          break;
        case 'I':
        case 'L': {  // protocol 0 integers (True / False as I01 / I00)
          auto line = Line();
          if (!line.empty() && line.back() == 'L') line.pop_back();
          stack_.push_back(Int(std::stoll(line)));
          break;
        }
        case 'G': {
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | U8();  // big-endian
          auto v = Scalar(PyValue::Kind::kFloat);
          std::memcpy(&v.f, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case 'X':
          stack_.push_back(Str(Bytes(Le(4))));
          break;
        case 0x8c:
          stack_.push_back(Str(Bytes(U8())));
          break;
        case 0x8d:
          stack_.push_back(Str(Bytes(Le(8))));
          break;
        case 'T':
          stack_.push_back(Str(Bytes(Le(4))));
          break;
        case 'U':
          stack_.push_back(Str(Bytes(U8())));
          break;
        case 'B':
          stack_.push_back(Str(Bytes(Le(4)), PyValue::Kind::kBytes));
          break;
        case 'C':
          stack_.push_back(Str(Bytes(U8()), PyValue::Kind::kBytes));
          break;
        case 0x8e:
          stack_.push_back(Str(Bytes(Le(8)), PyValue::Kind::kBytes));
          break;
        case ')':
          stack_.push_back(Seq(PyValue::Kind::kTuple));
          break;
        case 't':
          stack_.push_back(Seq(PyValue::Kind::kTuple, PopMark()));
          break;
        case 0x85:
        case 0x86:
        case 0x87: {
          const size_t n = op - 0x84;
          Need(n);
          std::vector<PyValue> items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(Seq(PyValue::Kind::kTuple, std::move(items)));
          break;
        }
        case ']':
        case 0x8f:
          stack_.push_back(Seq(PyValue::Kind::kList));
          break;  // list, empty set
        case 'l':
        case 0x91:
          stack_.push_back(Seq(PyValue::Kind::kList, PopMark()));
          break;
        case 'a': {
          Need(2);
          auto v = stack_.back();
          stack_.pop_back();
          Append(stack_.back(), {v});
          break;
        }
        case 'e':
        case 0x90: {  // APPENDS, ADDITEMS
          auto items = PopMark();
          Need(1);
          Append(stack_.back(), items);
          break;
        }
        case '}':
          stack_.push_back(Dict());
          break;
        case 'd': {
          auto items = PopMark();
          auto d = Dict();
          SetItems(d, items);
          stack_.push_back(d);
          break;
        }
        case 's': {
          Need(3);
          std::vector<PyValue> kv(stack_.end() - 2, stack_.end());
          stack_.resize(stack_.size() - 2);
          SetItems(stack_.back(), kv);
          break;
        }
        case 'u': {
          auto items = PopMark();
          Need(1);
          SetItems(stack_.back(), items);
          break;
        }
        case 'q':
          Need(1);
          memo_[Le(1)] = stack_.back();
          break;
        case 'r':
          Need(1);
          memo_[Le(4)] = stack_.back();
          break;
        case 0x94:
          Need(1);
          memo_[memo_.size()] = stack_.back();
          break;
        case 'p':
          Need(1);
          memo_[std::stoull(Line())] = stack_.back();
          break;
        case 'h':
          stack_.push_back(Memo(Le(1)));
          break;
        case 'j':
          stack_.push_back(Memo(Le(4)));
          break;
        case 'g':
          stack_.push_back(Memo(std::stoull(Line())));
          break;
        case 'c': {
          auto module = Line();
          auto name = Line();
          stack_.push_back(Str(module + "." + name, PyValue::Kind::kGlobal));
          break;
        }
        case 0x93: {
          Need(2);
          auto name = stack_.back().s;
          stack_.pop_back();
          auto module = stack_.back().s;
          stack_.pop_back();
          stack_.push_back(Str(module + "." + name, PyValue::Kind::kGlobal));
          break;
        }
        case 'R': {
          Need(2);
          auto args = stack_.back();
          stack_.pop_back();
          auto fn = stack_.back();
          stack_.pop_back();
          stack_.push_back(Call(fn, args));
          break;
        }
        case 0x81: {  // NEWOBJ: an instance of a class we do not model
          Need(2);
          stack_.pop_back();
          auto cls = stack_.back();
          stack_.pop_back();
          stack_.push_back(cls.s == "collections.OrderedDict" ? Dict() : Opaque(cls.s));
          break;
        }
        case 0x92: {  // NEWOBJ_EX
          Need(3);
          stack_.resize(stack_.size() - 2);
          auto cls = stack_.back();
          stack_.pop_back();
          stack_.push_back(Opaque(cls.s));
          break;
        }
        case 'b':
          Need(2);
          stack_.pop_back();
          break;  // BUILD: object state (OrderedDict _metadata, ...)
        case 'Q': {
          Need(1);
          auto pid = stack_.back();
          stack_.pop_back();
          stack_.push_back(Persistent(pid));
          break;
        }
        default:
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(op));
          Fail(code::kWeights, std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

 private:
  void Need(size_t n) const { Check(stack_.size() >= n, code::kWeights, "malformed pickle (stack underflow)"); }
  uint8_t U8() {
    Check(p_ < end_, code::kWeights, "truncated pickle");
    return *p_++;
  }
  uint64_t Le(size_t n) {
    Check(static_cast<size_t>(end_ - p_) >= n, code::kWeights, "truncated pickle");
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    return v;
  }
  int64_t Long(size_t n) {
    Check(n <= 8, code::kWeights, "integer too large in pickle");
    if (n == 0) return 0;
    uint64_t v = Le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string Bytes(uint64_t n) {
    Check(static_cast<uint64_t>(end_ - p_) >= n, code::kWeights, "truncated pickle");
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  std::string Line() {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', end_ - p_));
    Check(nl != nullptr, code::kWeights, "truncated pickle");
    std::string s(reinterpret_cast<const char*>(p_), nl - p_);
    p_ = nl + 1;
    return s;
  }
  std::vector<PyValue> PopMark() {
    Check(!marks_.empty() && marks_.back() <= stack_.size(), code::kWeights, "malformed pickle (no mark)");
    std::vector<PyValue> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  PyValue Memo(uint64_t i) {
    auto it = memo_.find(i);
    Check(it != memo_.end(), code::kWeights, "malformed pickle (memo)");
    return it->second;
  }
  static void Append(PyValue& target, const std::vector<PyValue>& items) {
    if (target.kind != PyValue::Kind::kList) return;  // appends to an opaque object: dropped
    target.items->insert(target.items->end(), items.begin(), items.end());
  }
  static void SetItems(PyValue& target, const std::vector<PyValue>& kv) {
    Check(kv.size() % 2 == 0, code::kWeights, "malformed pickle (odd SETITEMS)");
    if (target.kind != PyValue::Kind::kDict) return;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) target.entries->emplace_back(kv[i], kv[i + 1]);
  }

  PyValue Call(const PyValue& fn, const PyValue& args) {
    const std::string& f = fn.s;
    const std::vector<PyValue> none;
    const auto& a = (args.kind == PyValue::Kind::kTuple || args.kind == PyValue::Kind::kList) ? *args.items : none;
    if (f == "collections.OrderedDict") {
      auto d = Dict();
      if (!a.empty() && a[0].kind == PyValue::Kind::kList) {
        for (const auto& kv : *a[0].items) {
          if (kv.kind == PyValue::Kind::kTuple && kv.items->size() == 2) SetItems(d, *kv.items);
        }
      }
      return d;
    }
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      Check(a.size() >= 4 && a[0].kind == PyValue::Kind::kTensor && a[1].kind == PyValue::Kind::kInt, code::kWeights,
            "malformed tensor record");
      auto v = Scalar(PyValue::Kind::kTensor);
      v.tensor = a[0].tensor.as_strided(Ints(a[2], "size"), Ints(a[3], "stride"), a[1].i);
      return v;
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state" ||
        f == "torch.jit._pickle.restore_type_tag" || f.rfind("torch.jit._pickle.build_", 0) == 0 ||
        f == "builtins.set" || f == "builtins.frozenset") {
      return a.empty() ? PyValue() : a[0];
    }
    return Opaque(f);
  }

  PyValue Persistent(const PyValue& pid) {
    Check(pid.kind == PyValue::Kind::kTuple && pid.items->size() >= 5 && (*pid.items)[0].s == "storage", code::kWeights,
          "unsupported persistent id in pickle");
    const auto& t = *pid.items;
    const std::string key = t[2].s;
    auto v = Scalar(PyValue::Kind::kTensor);
    auto it = storages_.find(key);
    if (it != storages_.end()) {
      v.tensor = it->second;
      return v;
    }
    const auto dtype = StorageDtype(t[1].s);
    const int64_t numel = t[4].i;
    if (!zip_) {
      v.tensor = storages_[key] = at::empty({numel}, at::TensorOptions().dtype(dtype));
      return v;
    }
    const std::string record = "data/" + key;
    Check(zip_->hasRecord(record), code::kWeights, "the archive lacks the record " + record);
    at::DataPtr data;
    size_t size = 0;
    std::tie(data, size) = zip_->getRecord(record);
    auto storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    const size_t bytes = static_cast<size_t>(numel) * storage.element_size();
    Check(size >= bytes, code::kWeights, "record " + record + " is shorter than its tensor");
    if (bytes > 0) std::memcpy(storage.data_ptr(), data.get(), bytes);
    storages_[key] = storage;
    v.tensor = storage;
    return v;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  caffe2::serialize::PyTorchStreamReader* zip_;
  std::vector<PyValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyValue> memo_;
  std::map<std::string, at::Tensor>& storages_;
};

// PyTorch's legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False):
// pickles of the magic number, the protocol version, system info and the object, then the
// sorted storage keys, then each storage as an int64 element count and its raw bytes.
PyValue LoadLegacy(const std::string& path, const std::vector<uint8_t>& buf) {
  static const uint8_t kMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                   0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  Check(buf.size() > sizeof kMagic && std::memcmp(buf.data(), kMagic, sizeof kMagic) == 0, code::kWeights,
        path + " is not a PyTorch checkpoint (neither a torch.save zip nor the legacy format)");
  std::map<std::string, at::Tensor> storages;
  const uint8_t* p = buf.data() + sizeof kMagic;
  const uint8_t* end = buf.data() + buf.size();
  auto next = [&]() {
    Unpickler u(p, static_cast<size_t>(end - p), nullptr, storages);
    PyValue v = u.Run();
    p = u.pos();
    return v;
  };
  const PyValue version = next();
  Check(version.kind == PyValue::Kind::kInt && version.i == 1001, code::kWeights,
        path + ": unknown legacy format version");
  const PyValue sys = next();
  if (const PyValue* le = sys.find("little_endian")) {
    Check(le->kind != PyValue::Kind::kBool || le->b, code::kWeights, path + " was written on a big-endian machine");
  }
  PyValue obj = next();
  const PyValue keys = next();
  Check(keys.kind == PyValue::Kind::kList, code::kWeights, path + ": malformed legacy storage list");
  for (const auto& k : *keys.items) {
    auto it = storages.find(k.s);
    Check(it != storages.end(), code::kWeights, path + ": storage " + k.s + " is listed but never used");
    Check(end - p >= 8, code::kWeights, path + " is truncated");
    int64_t numel = 0;
    std::memcpy(&numel, p, 8);
    p += 8;
    at::Tensor& t = it->second;
    Check(numel == t.numel(), code::kWeights, path + ": storage " + k.s + " has the wrong size");
    const size_t bytes = static_cast<size_t>(numel) * t.element_size();
    Check(static_cast<size_t>(end - p) >= bytes, code::kWeights, path + " is truncated");
    if (bytes > 0) std::memcpy(t.data_ptr(), p, bytes);
    p += bytes;
  }
  return obj;
}

}  // namespace

PyValue LoadTorchFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Check(f.good(), code::kIo, "cannot read " + path);
  char head[4] = {0, 0, 0, 0};
  f.read(head, 4);
  Check(f.gcount() > 0, code::kWeights, path + " is empty");
  if (!(head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)) {
    f.clear();
    f.seekg(0);
    std::vector<uint8_t> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    try {
      return LoadLegacy(path, buf);
    } catch (const Error& e) {
      Fail(e.code(), std::string(e.what()).rfind(path, 0) == 0 ? e.what() : path + ": " + e.what());
    }
  }
  f.close();
  try {
    caffe2::serialize::PyTorchStreamReader zip(path);
    if (zip.hasRecord("byteorder")) {
      at::DataPtr d;
      size_t n = 0;
      std::tie(d, n) = zip.getRecord("byteorder");
      Check(std::string(static_cast<const char*>(d.get()), n) == "little", code::kWeights,
            path + " was written on a big-endian machine");
    }
    Check(zip.hasRecord("data.pkl"), code::kWeights, path + " is a zip but not a torch.save archive (no data.pkl)");
    at::DataPtr pkl;
    size_t size = 0;
    std::tie(pkl, size) = zip.getRecord("data.pkl");
    std::map<std::string, at::Tensor> storages;
    Unpickler u(static_cast<const uint8_t*>(pkl.get()), size, &zip, storages);
    return u.Run();
  } catch (const Error& e) {
    Fail(e.code(), std::string(e.what()).rfind(path, 0) == 0 ? e.what() : path + ": " + e.what());
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    Fail(code::kWeights,
         path + " is not a readable PyTorch archive (" + msg.substr(0, msg.find('\n')).substr(0, 200) + ")");
  }
}

}  // namespace mist

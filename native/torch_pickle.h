// Reading torch.save files without Python: PyTorch's zip format (Python's torch.save >= 1.6,
// LibTorch's pickle_save) and the legacy stream format of older releases. LibTorch's own
// torch::pickle_load reads only the subset of pickle that TorchScript writes: it rejects the
// SETITEM opcode of every one-entry dict and the OrderedDict state that every state_dict()
// carries, so a real checkpoint fails there. This
// reader runs the pickle opcodes torch.save emits (protocols 2 to 5), rebuilds tensors from the
// archive's records, and keeps anything else it does not know as an opaque value.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mist {

struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kBytes, kTuple, kList, kDict, kTensor, kGlobal, kOther };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // string, bytes, or "module.name" of a global / of what built an opaque value
  std::shared_ptr<std::vector<PyValue>> items;                        // tuple, list
  std::shared_ptr<std::vector<std::pair<PyValue, PyValue>>> entries;  // dict, in file order
  at::Tensor tensor;

  bool isDict() const { return kind == Kind::kDict; }
  // The value of a dict entry with this string key, or nullptr.
  const PyValue* find(const std::string& key) const;
};

// Sync. Reads a checkpoint written by torch.save (zip or legacy) or torch::pickle_save.
// Throws ERR_MIST_IO when the file cannot be read, ERR_MIST_WEIGHTS when it is not such a
// file, is truncated or is damaged.
PyValue LoadTorchFile(const std::string& path);

}  // namespace mist

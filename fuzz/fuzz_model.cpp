// libFuzzer harness: load_model on arbitrary bytes; a model it accepts must classify a face
// without faults (every size and index the classifier trusts is checked by the loader).
// Accepted outcomes: a model or ModelError.
#include <cstdint>

#include "fuzz/fuzz_util.hpp"
#include "nodes/model/model.hpp"

using namespace lumaflow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = fuzz::scratch_file("input.model");
  fuzz::write_bytes(path, data, size);
  FittedModel m;
  try {
    m = load_model(path);
  } catch (const ModelError&) {
    return 0;
  }
  // One face at the training mean and one at zero (placement, kNN, open set, SVM).
  RowMatrixF raw(2, m.dims());
  raw.row(0) = m.pca.mean.transpose();
  raw.row(1).setZero();
  const auto out = classify(m, raw, 1);
  if (out.size() != 2) __builtin_trap();
  for (const Classification& c : out)
    if (c.label < 0 || static_cast<size_t>(c.label) >= m.labels.size()) __builtin_trap();
  return 0;
}

// libFuzzer harness: load_store on arbitrary bytes, then every row, thumbnail and label it
// returned is read, so a loader that accepts what it cannot serve shows up under ASan/UBSan.
// Accepted outcomes: a store (possibly with a damage report) or StoreError.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_util.hpp"
#include "nodes/store/store.hpp"

using namespace lumaflow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = fuzz::scratch_file("input.store");
  fuzz::write_bytes(path, data, size);
  try {
    LoadReport rep;
    const EmbeddingStore store = load_store(path, &rep);
    std::vector<float> row(store.dims());
    volatile float sink = 0;
    for (size_t i = 0; i < store.size(); ++i) {
      store.row(i, row.data());
      for (float v : row) sink = sink + v;
      const RecordInfo& r = store.record(i);
      if (r.label >= 0) sink = sink + static_cast<float>(store.header().labels.at(static_cast<size_t>(r.label)).size());
      const Thumbnail t = store.thumbnail(i);
      if (t.data)
        for (int k = 0; k < t.side * t.side * t.channels; ++k) sink = sink + t.data[k];
    }
    (void)store.labels();
  } catch (const StoreError&) {
  }
  return 0;
}

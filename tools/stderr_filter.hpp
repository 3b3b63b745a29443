// Library chatter on stderr, filtered: libpng ("libpng error: ..."), libjpeg ("Corrupt JPEG data:
// ..."), libtiff/libwebp and OpenCV's own imdecode/WARN lines print to the process's stderr with
// no file name, interleaved with lumaflow's one-line reports. Every such failure already reaches
// the user as lumaflow's own line naming the file ("skipped: PATH: cannot decode PNG data ..."),
// so these lines are dropped.
//
// How: fd 2 becomes a pipe; a thread forwards every line to the real stderr except those that
// start with a known library prefix. Partial lines (the progress bar's \r updates) are forwarded
// as they come. finish() (also at exit) restores fd 2 and forwards what is left. Not installed
// in sanitizer builds (a crash report must reach the terminal even if the process dies mid-way)
// or with LUMAFLOW_RAW_STDERR=1.
#pragma once

#include <string_view>

namespace lumaflow::cli {

// True for a line a decoding library printed on its own (see above).
bool is_library_chatter(std::string_view line);

// Installs the filter for the rest of the process (idempotent).
void filter_library_chatter();

// Whether the process's stderr was a terminal before the filter made it a pipe.
bool stderr_is_terminal();

}  // namespace lumaflow::cli

// The live page of `watch --serve`: one self-contained HTML document (inline CSS and script, no
// network but its own server). It follows /events, draws the latest frame (/file) with its boxes
// and names, lists each face as it arrives (li.face, data-path, data-face: newest first, at most
// 200) with its name, confidence, known/unknown and neighbours, polls /api/stats (frames/s,
// faces/s, latency p50/p99, errors) every second and /api/identities every two. A ?token= in the
// page's address is passed on to every request.
#pragma once

#include <string>

namespace lumaflow {

const std::string& live_page_html();

}  // namespace lumaflow

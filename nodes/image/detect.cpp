#include "nodes/image/detect.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#ifndef LUMAFLOW_OPENCV_DATA
#define LUMAFLOW_OPENCV_DATA "/usr/share/opencv4"
#endif

namespace lumaflow {

float iou(const cv::Rect& a, const cv::Rect& b) {
  if (a.width <= 0 || a.height <= 0 || b.width <= 0 || b.height <= 0) return 0.f;
  const double inter = static_cast<double>((a & b).area());
  const double uni = static_cast<double>(a.area()) + static_cast<double>(b.area()) - inter;
  return uni > 0 ? static_cast<float>(inter / uni) : 0.f;
}

namespace {

bool better(const Detection& a, const Detection& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.box.y != b.box.y) return a.box.y < b.box.y;
  if (a.box.x != b.box.x) return a.box.x < b.box.x;
  if (a.box.width != b.box.width) return a.box.width < b.box.width;
  return a.box.height < b.box.height;
}

}  // namespace

std::vector<Detection> non_max_suppression(std::vector<Detection> d, float iou_threshold) {
  std::stable_sort(d.begin(), d.end(), better);
  std::vector<Detection> kept;
  kept.reserve(d.size());
  for (const auto& c : d) {
    bool ok = true;
    for (const auto& k : kept)
      if (iou(c.box, k.box) > iou_threshold) {
        ok = false;
        break;
      }
    if (ok) kept.push_back(c);
  }
  return kept;
}

std::string default_cascade_path(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::haar:
      return std::string(LUMAFLOW_OPENCV_DATA) + "/haarcascades/haarcascade_frontalface_default.xml";
    case DetectorKind::lbp:
      return std::string(LUMAFLOW_OPENCV_DATA) + "/lbpcascades/lbpcascade_frontalface_improved.xml";
    case DetectorKind::hog: break;
  }
  return {};
}

namespace {

// A thread-safe free list of engines: a call takes one (or makes one when all are busy) and
// returns it afterwards, so at most "number of concurrent callers" engines ever exist.
template <class T>
class Pool {
 public:
  explicit Pool(std::function<std::unique_ptr<T>()> make) : make_(std::move(make)) {}

  class Lease {
   public:
    Lease(Pool& p, std::unique_ptr<T> e) : pool_(p), engine_(std::move(e)) {}
    ~Lease() { pool_.give_back(std::move(engine_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    T& operator*() { return *engine_; }
    T* operator->() { return engine_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<T> engine_;
  };

  Lease take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        auto e = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(e));
      }
    }
    return Lease(*this, make_());  // built outside the lock: loading a cascade takes ms
  }

  void give_back(std::unique_ptr<T> e) {
    if (!e) return;
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(e));
  }

 private:
  std::function<std::unique_ptr<T>()> make_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> free_;
};

std::string read_cascade_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("face cascade not found: " + path + " (install the Debian package opencv-data)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<cv::CascadeClassifier> cascade_from_xml(const std::string& xml, const std::string& path) {
  auto c = std::make_unique<cv::CascadeClassifier>();
  bool ok = false;
  try {
    cv::FileStorage fs(xml, cv::FileStorage::READ | cv::FileStorage::MEMORY);
    ok = fs.isOpened() && c->read(fs.getFirstTopLevelNode()) && !c->empty();
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok)
    throw std::runtime_error("face cascade unreadable or corrupt: " + path +
                             " (reinstall the Debian package opencv-data)");
  return c;
}

cv::Mat to_gray(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("FaceDetector::detect: empty image");
  if (image.depth() != CV_8U) throw std::invalid_argument("FaceDetector::detect: expected an 8-bit image");
  cv::Mat gray;
  switch (image.channels()) {
    case 1: return image;
    case 3: cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY); return gray;
    case 4: cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY); return gray;
    default: throw std::invalid_argument("FaceDetector::detect: expected 1, 3 or 4 channels");
  }
}

// dlib::get_frontal_face_detector() decodes a model embedded as text, which takes ~1–2.5 s
// here (far more under ASan), while copying the decoded detector takes microseconds. The
// decoded prototype is immutable after its thread-safe one-time initialisation, so sharing it
// process-wide adds no mutable global state.
const dlib::frontal_face_detector& hog_prototype() {
  static const dlib::frontal_face_detector proto = dlib::get_frontal_face_detector();
  return proto;
}

// dlib's object_detector<scan_fhog_pyramid>::operator()(img, dets, adjust) for the frontal face
// detector, cut into independent pieces: the HOG features of each pyramid level, then each
// (level, filter bank) pair. The pyramid images are made one from the other as dlib makes them,
// and the pieces' detections are merged in dlib's order (per bank: levels in turn, sorted by
// score; then all banks, sorted; then its overlap suppression), so the boxes and scores are
// dlib's own whatever runs the pieces — and the decoded detector is only read, never loaded
// with an image, so one copy serves every thread.
std::vector<dlib::rect_detection> hog_detect(const dlib::frontal_face_detector& det, const cv::Mat& gray,
                                             double adjust_threshold, const ForEach& each) {
  using Scanner = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>;
  static_assert(std::is_same_v<dlib::frontal_face_detector, dlib::object_detector<Scanner>>);
  using Level = dlib::array<dlib::array2d<float>>;
  using Hit = std::pair<double, dlib::rectangle>;
  const Scanner& sc = det.get_scanner();
  const Scanner::pyramid_type pyr;
  const dlib::cv_image<unsigned char> img(gray);
  const unsigned long cell = sc.get_cell_size();
  const unsigned long fw = sc.get_fhog_window_width(), fh = sc.get_fhog_window_height();
  const unsigned long box_w = fw - 2 * sc.get_padding(), box_h = fh - 2 * sc.get_padding();

  // As dlib::impl::create_fhog_pyramid: how many levels, then each level's image from the last.
  unsigned long levels = 0;
  for (dlib::rectangle r = dlib::get_rect(img);;) {
    r = pyr.rect_down(r);
    ++levels;
    if (!(r.width() >= sc.get_min_pyramid_layer_width() && r.height() >= sc.get_min_pyramid_layer_height() &&
          levels < sc.get_max_pyramid_levels()))
      break;
  }
  dlib::array<dlib::array2d<unsigned char>> images;  // [0] unused: level 0 is the frame itself
  images.set_max_size(levels);
  images.set_size(levels);
  if (levels > 1) pyr(img, images[1]);
  for (unsigned long l = 2; l < levels; ++l) pyr(images[l - 1], images[l]);

  dlib::array<Level> feats;
  feats.set_max_size(levels);
  feats.set_size(levels);
  const auto& fe = sc.get_feature_extractor();
  for_each(each, static_cast<std::ptrdiff_t>(levels), [&](std::ptrdiff_t l) {
    if (l == 0)
      fe(img, feats[0], cell, fh, fw);
    else
      fe(images[static_cast<unsigned long>(l)], feats[static_cast<unsigned long>(l)], cell, fh, fw);
  });

  // As dlib::impl::detect_from_fhog_pyramid, one (bank, level) pair a piece.
  const unsigned long banks = det.num_detectors();
  const auto thresh = [&](unsigned long b) { return det.get_processed_w(b).w(sc.get_num_dimensions()); };
  std::vector<std::vector<Hit>> hits(banks * levels);
  for_each(each, static_cast<std::ptrdiff_t>(banks * levels), [&](std::ptrdiff_t i) {
    const unsigned long b = static_cast<unsigned long>(i) / levels, l = static_cast<unsigned long>(i) % levels;
    const double t = thresh(b) + adjust_threshold;
    dlib::array2d<float> saliency;
    const dlib::rectangle area =
        dlib::impl::apply_filters_to_fhog(det.get_processed_w(b).get_detect_argument(), feats[l], saliency);
    auto& out = hits[static_cast<size_t>(i)];
    for (long r = area.top(); r <= area.bottom(); ++r)
      for (long c = area.left(); c <= area.right(); ++c)
        if (saliency[r][c] >= t) {
          const dlib::rectangle rect =
              fe.feats_to_image(dlib::centered_rect(dlib::point(c, r), box_w, box_h), cell, fh, fw);
          out.emplace_back(saliency[r][c], pyr.rect_up(rect, l));
        }
  });

  // As object_detector::operator(): per bank, confidence = score − threshold; then suppression.
  std::vector<dlib::rect_detection> accum;
  for (unsigned long b = 0; b < banks; ++b) {
    std::vector<Hit> dets;
    for (unsigned long l = 0; l < levels; ++l) {
      const auto& h = hits[b * levels + l];
      dets.insert(dets.end(), h.begin(), h.end());
    }
    std::sort(dets.rbegin(), dets.rend(), dlib::impl::compare_pair_rect);
    for (const Hit& h : dets) {
      dlib::rect_detection d;
      d.detection_confidence = h.first - thresh(b);
      d.weight_index = b;
      d.rect = h.second;
      accum.push_back(d);
    }
  }
  if (banks > 1) std::sort(accum.rbegin(), accum.rend());
  const dlib::test_box_overlap& overlaps = det.get_overlap_tester();
  std::vector<dlib::rect_detection> kept;
  for (const auto& d : accum) {
    bool hit = false;
    for (const auto& k : kept)
      if (overlaps(k.rect, d.rect)) {
        hit = true;
        break;
      }
    if (!hit) kept.push_back(d);
  }
  return kept;
}

}  // namespace

struct FaceDetector::Impl {
  DetectOptions opt;
  std::string cascade_path;
  const dlib::frontal_face_detector* hog = nullptr;  // the shared prototype, only read
  std::unique_ptr<Pool<cv::CascadeClassifier>> cascade_pool;
};

FaceDetector::FaceDetector(const DetectOptions& options) : impl_(std::make_shared<Impl>()) {
  if (options.min_face < 1) throw std::invalid_argument("DetectOptions: min_face must be >= 1");
  if (!(options.upscale > 0)) throw std::invalid_argument("DetectOptions: upscale must be > 0");
  if (!(options.max_side >= 16)) throw std::invalid_argument("DetectOptions: max_side must be >= 16");
  if (!(options.scale_factor > 1.0)) throw std::invalid_argument("DetectOptions: scale_factor must be > 1");
  impl_->opt = options;
  if (options.kind == DetectorKind::hog) {
    impl_->hog = &hog_prototype();
  } else {
    impl_->cascade_path = options.model_path.empty() ? default_cascade_path(options.kind) : options.model_path;
    // Keep the XML in memory: later pool engines must not depend on the file still existing.
    auto xml = std::make_shared<const std::string>(read_cascade_file(impl_->cascade_path));
    const std::string path = impl_->cascade_path;
    auto first = cascade_from_xml(*xml, path);  // validates now, not at the first detect()
    impl_->cascade_pool =
        std::make_unique<Pool<cv::CascadeClassifier>>([xml, path] { return cascade_from_xml(*xml, path); });
    impl_->cascade_pool->give_back(std::move(first));
  }
}

FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(const FaceDetector&) = default;
FaceDetector& FaceDetector::operator=(const FaceDetector&) = default;

const DetectOptions& FaceDetector::options() const { return impl_->opt; }

double FaceDetector::detection_scale(cv::Size size) const {
  const double longest = std::max(size.width, size.height);
  if (longest <= 0) return 1.0;
  return std::min(impl_->opt.upscale, impl_->opt.max_side / longest);
}

std::vector<Detection> FaceDetector::detect(const cv::Mat& image, const ForEach& each) const {
  const DetectOptions& opt = impl_->opt;
  const cv::Mat gray = to_gray(image);
  const double s = detection_scale(gray.size());
  cv::Mat work = gray;
  if (std::abs(s - 1.0) > 1e-9) {
    const cv::Size sz(std::max(1, static_cast<int>(std::lround(gray.cols * s))),
                      std::max(1, static_cast<int>(std::lround(gray.rows * s))));
    cv::resize(gray, work, sz, 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  // Exact per-axis factors after rounding the resampled size.
  const double sx = static_cast<double>(gray.cols) / work.cols;
  const double sy = static_cast<double>(gray.rows) / work.rows;

  // Box convention: measured against HOG on bbt1–5 and the padded tvshow crops (~60 matched
  // faces each), Haar boxes are 1.13× HOG's side with the centre 0.08 side higher, LBP boxes
  // 0.74× with the same centre (sd ≈ 0.04 side). Mapping them onto HOG's convention gives one
  // meaning to a box for IoU and for the landmark model, which was trained on HOG boxes.
  double size_ratio = 1.0, centre_dy = 0.0;  // detector box side / HOG side; HOG cy − cy, in HOG sides
  if (opt.calibrate_boxes && opt.kind == DetectorKind::haar) size_ratio = 1.129, centre_dy = 0.081;
  if (opt.calibrate_boxes && opt.kind == DetectorKind::lbp) size_ratio = 0.741, centre_dy = 0.005;

  std::vector<Detection> raw;
  if (opt.kind == DetectorKind::hog) {
    if (!work.isContinuous()) work = work.clone();
    const std::vector<dlib::rect_detection> dets =
        hog_detect(*impl_->hog, work, static_cast<double>(opt.min_score), each);
    raw.reserve(dets.size());
    for (const auto& d : dets) {
      const auto& r = d.rect;
      raw.push_back({cv::Rect(static_cast<int>(r.left()), static_cast<int>(r.top()), static_cast<int>(r.width()),
                              static_cast<int>(r.height())),
                     static_cast<float>(d.detection_confidence)});
    }
  } else {
    std::vector<cv::Rect> rects;
    std::vector<int> neighbours;
    const int min_px = std::max(1, static_cast<int>(std::floor(opt.min_face * size_ratio / std::max(sx, sy))));
    {
      auto engine = impl_->cascade_pool->take();
      engine->detectMultiScale(work, rects, neighbours, opt.scale_factor, opt.min_neighbors, 0,
                               cv::Size(min_px, min_px));
    }
    for (size_t i = 0; i < rects.size(); ++i) {
      const float score = i < neighbours.size() ? static_cast<float>(neighbours[i]) : 0.f;
      if (score >= opt.min_score) raw.push_back({rects[i], score});
    }
  }

  const cv::Rect frame(0, 0, gray.cols, gray.rows);
  std::vector<Detection> mapped;
  mapped.reserve(raw.size());
  for (const auto& d : raw) {
    const double w = d.box.width * sx / size_ratio, h = d.box.height * sy / size_ratio;
    const double cx = (d.box.x + 0.5 * d.box.width) * sx;
    const double cy = (d.box.y + 0.5 * d.box.height) * sy + centre_dy * h;
    const int x0 = static_cast<int>(std::lround(cx - 0.5 * w));
    const int y0 = static_cast<int>(std::lround(cy - 0.5 * h));
    const int x1 = static_cast<int>(std::lround(cx + 0.5 * w));
    const int y1 = static_cast<int>(std::lround(cy + 0.5 * h));
    // Size test before clipping: a face cut by the frame edge is still a face of that size.
    if (std::min(x1 - x0, y1 - y0) < opt.min_face) continue;
    const cv::Rect box = cv::Rect(x0, y0, x1 - x0, y1 - y0) & frame;
    if (box.area() > 0) mapped.push_back({box, d.score});
  }
  return non_max_suppression(std::move(mapped), opt.nms_iou);
}

std::optional<Detection> detect_in_crop(const FaceDetector& detector, const cv::Mat& crop, double pad) {
  if (crop.empty()) throw std::invalid_argument("detect_in_crop: empty image");
  if (!(pad >= 0)) throw std::invalid_argument("detect_in_crop: pad must be >= 0");
  const int p = static_cast<int>(std::lround(pad * std::max(crop.cols, crop.rows)));
  cv::Mat padded;
  cv::copyMakeBorder(crop, padded, p, p, p, p, cv::BORDER_REPLICATE);
  const auto dets = detector.detect(padded);
  const cv::Rect frame(0, 0, crop.cols, crop.rows);
  for (const auto& d : dets) {  // best first
    const cv::Rect box = (d.box - cv::Point(p, p)) & frame;
    if (box.area() > 0) return Detection{box, d.score};
  }
  return std::nullopt;
}

}  // namespace lumaflow

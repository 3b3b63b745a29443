'use strict';
// Writes the generated colour inputs of the ResNet parity test: 150×150 RGB PNGs in
// tests/fixtures/resnet_inputs/. Five are cartoon faces (skin, hair, irises, lips and background
// in clearly different R, G and B, so an RGB/BGR swap or a wrong channel mean moves the
// descriptor far beyond the tolerance); the sixth is a colour pattern with independent
// per-channel texture. Deterministic: a seeded PRNG and fixed drawing parameters; the PNGs are
// committed, so the C++ test never depends on this script reproducing them bit for bit.
//
//   node make_inputs.js [OUT_DIR]

const fs = require('fs');
const path = require('path');
const { writeRgb } = require('./png');

const SIZE = 150;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Coverage of a rotated ellipse at (x, y): 1 inside, 0 outside, a one-pixel ramp at the edge so
// the shapes are anti-aliased like a photo rather than hard-edged.
function ellipse(x, y, cx, cy, rx, ry, angle = 0) {
  const c = Math.cos(angle), s = Math.sin(angle);
  const dx = x - cx, dy = y - cy;
  const u = c * dx + s * dy, v = -s * dx + c * dy;
  const d = (Math.hypot(u / rx, v / ry) - 1) * Math.min(rx, ry);
  return Math.min(1, Math.max(0, 0.5 - d));
}

function blend(px, rgb, a) {
  if (a <= 0) return;
  for (let k = 0; k < 3; k++) px[k] = px[k] * (1 - a) + rgb[k] * a;
}

function face(p, seed) {
  const rnd = mulberry32(seed);
  const img = new Uint8Array(SIZE * SIZE * 3);
  const cx = 75 + p.dx, cy = 80 + p.dy;
  const rot = p.tilt;
  const cr = Math.cos(rot), sr = Math.sin(rot);
  // Face-frame point (u, v) relative to the face centre → image coordinates.
  const at = (u, v) => [cx + cr * u - sr * v, cy + sr * u + cr * v];
  const [lex, ley] = at(-20, -12), [rex, rey] = at(20, -12);
  const [mx, my] = at(0, 30), [nx, ny] = at(0, 10);
  const [hx, hy] = at(0, -38);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const t = (x + y) / (2 * SIZE);
      const px = [
        p.bg0[0] * (1 - t) + p.bg1[0] * t,
        p.bg0[1] * (1 - t) + p.bg1[1] * t,
        p.bg0[2] * (1 - t) + p.bg1[2] * t,
      ];
      blend(px, p.hair, ellipse(x, y, hx, hy, 52, 36, rot));           // hair behind the head
      blend(px, p.skin, ellipse(x, y, cx, cy, 44, 56, rot));          // head
      // Cheek shading: darker towards the jaw line, lighter on the forehead.
      const shade = ellipse(x, y, cx, cy, 44, 56, rot) * (1 - ellipse(x, y, cx, cy - 6, 36, 48, rot));
      blend(px, p.skin.map((c) => c * 0.75), 0.6 * shade);
      blend(px, p.hair, ellipse(x, y, hx, hy + 4, 46, 18, rot));       // fringe
      for (const [ex, ey] of [[lex, ley], [rex, rey]]) {
        blend(px, p.hair.map((c) => c * 0.8), ellipse(x, y, ex, ey - 10, 12, 3, rot)); // brow
        blend(px, [245, 242, 236], ellipse(x, y, ex, ey, 10, 5.5, rot)); // eye white
        blend(px, p.iris, ellipse(x, y, ex + p.gaze, ey, 4.5, 4.5));    // iris
        blend(px, [15, 12, 20], ellipse(x, y, ex + p.gaze, ey, 2, 2));  // pupil
      }
      blend(px, p.skin.map((c) => c * 0.82), ellipse(x, y, nx, ny, 5, 10, rot)); // nose
      blend(px, p.lips, ellipse(x, y, mx, my, 15, 5 + p.smile, rot)); // mouth
      for (let k = 0; k < 3; k++) {
        // Independent noise per channel: a little sensor-like texture.
        const v = px[k] + (rnd() - 0.5) * 2 * p.noise;
        img[3 * (y * SIZE + x) + k] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return img;
}

function pattern(seed) {
  const rnd = mulberry32(seed);
  const img = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const r = 128 + 100 * Math.sin(x / 7) * Math.cos(y / 11);
      const g = 128 + 90 * Math.sin((x + 2 * y) / 13);
      const b = 40 + 180 * (((x >> 4) + (y >> 4)) & 1);
      const o = 3 * (y * SIZE + x);
      img[o] = Math.max(0, Math.min(255, Math.round(r + 20 * (rnd() - 0.5))));
      img[o + 1] = Math.max(0, Math.min(255, Math.round(g + 20 * (rnd() - 0.5))));
      img[o + 2] = Math.max(0, Math.min(255, Math.round(b + 20 * (rnd() - 0.5))));
    }
  }
  return img;
}

const FACES = [
  { name: 'face_a.png', seed: 1, dx: 0, dy: 0, tilt: 0, gaze: 0, smile: 0, noise: 6,
    skin: [224, 172, 140], hair: [70, 42, 24], iris: [60, 110, 170], lips: [176, 60, 70], bg0: [40, 90, 150], bg1: [150, 200, 120] },
  { name: 'face_b.png', seed: 2, dx: 4, dy: -3, tilt: 0.12, gaze: 1.5, smile: 2, noise: 4,
    skin: [141, 85, 56], hair: [20, 16, 14], iris: [90, 60, 30], lips: [120, 40, 50], bg0: [200, 60, 40], bg1: [240, 200, 80] },
  { name: 'face_c.png', seed: 3, dx: -5, dy: 2, tilt: -0.08, gaze: -1, smile: 1, noise: 8,
    skin: [250, 214, 190], hair: [200, 150, 60], iris: [70, 150, 80], lips: [210, 90, 110], bg0: [30, 30, 40], bg1: [90, 60, 160] },
  { name: 'face_d.png', seed: 4, dx: 2, dy: 5, tilt: 0.05, gaze: 0.5, smile: 3.5, noise: 5,
    skin: [198, 134, 66], hair: [150, 40, 20], iris: [40, 40, 40], lips: [150, 50, 40], bg0: [20, 140, 130], bg1: [230, 230, 240] },
  { name: 'face_e.png', seed: 5, dx: -2, dy: -6, tilt: -0.18, gaze: -2, smile: 0.5, noise: 3,
    skin: [120, 170, 110], hair: [60, 20, 120], iris: [200, 60, 30], lips: [40, 60, 200], bg0: [250, 240, 60], bg1: [240, 100, 180] },
];

const outDir = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'fixtures', 'resnet_inputs');
fs.mkdirSync(outDir, { recursive: true });
for (const f of FACES) writeRgb(path.join(outDir, f.name), SIZE, SIZE, face(f, f.seed));
writeRgb(path.join(outDir, 'pattern.png'), SIZE, SIZE, pattern(6));
console.log(`wrote ${FACES.length + 1} inputs to ${outDir}`);

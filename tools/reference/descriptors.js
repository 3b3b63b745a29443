'use strict';
// Reference face descriptors from face-api's own faceRecognitionNet on tfjs's CPU backend: the
// ground truth lumaflow's C++ port (nodes/learned/resnet.*) is tested against.
//
// Inputs: the 40 tvshow faces ($LUMAFLOW_DATA/tvshow/<person>/*.png, default ../shared/data
// next to the repo root) and the generated colour inputs in tests/fixtures/resnet_inputs/.
// Each 150×150 PNG is fed as an int32 [150,150,3] RGB tensor (grey replicated to R=G=B), no
// resize, no crop. Weights: the two recognition files of @vladmandic/face-api's own model/.
// Output: tests/fixtures/resnet_reference.json. Prints the per-face time (tfjs CPU).
//
//   npm ci && node make_inputs.js && node descriptors.js [OUT_JSON]

const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { readRgb } = require('./png');

const { tf } = faceapi;
const ROOT = path.resolve(__dirname, '..', '..');
const DATA = process.env.LUMAFLOW_DATA || path.join(ROOT, '..', 'shared', 'data');
const INPUTS = path.join(ROOT, 'tests', 'fixtures', 'resnet_inputs');
const OUT = process.argv[2] || path.join(ROOT, 'tests', 'fixtures', 'resnet_reference.json');
const MODEL = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

function pkgVersion(name) {
  return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
}

function pngs(dir) {
  // <dir>/<sub>/*.png or <dir>/*.png, sorted, as paths relative to dir.
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) {
      for (const f of fs.readdirSync(path.join(dir, e.name)).sort()) if (f.endsWith('.png')) out.push(`${e.name}/${f}`);
    } else if (e.name.endsWith('.png')) {
      out.push(e.name);
    }
  }
  return out;
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}, not cpu`);

  const manifest = JSON.parse(fs.readFileSync(path.join(MODEL, 'face_recognition_model-weights_manifest.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(MODEL, 'face_recognition_model.bin'));
  const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), manifest[0].weights);
  const net = faceapi.nets.faceRecognitionNet;
  net.loadFromWeightMap(weights);

  const jobs = [];
  const tvshow = path.join(DATA, 'tvshow');
  if (fs.existsSync(tvshow)) {
    for (const name of pngs(tvshow)) jobs.push({ set: 'tvshow', name, file: path.join(tvshow, name) });
  } else {
    console.warn(`warning: ${tvshow} not found (set LUMAFLOW_DATA); writing generated inputs only`);
  }
  for (const name of pngs(INPUTS)) jobs.push({ set: 'generated', name, file: path.join(INPUTS, name) });
  if (jobs.length === 0) throw new Error(`no inputs: run make_inputs.js first (${INPUTS})`);

  const faces = [];
  let ms = 0;
  for (const job of jobs) {
    const img = readRgb(job.file);
    if (img.width !== 150 || img.height !== 150) throw new Error(`${job.file}: ${img.width}x${img.height}, need 150x150`);
    const input = tf.tensor3d(Int32Array.from(img.rgb), [150, 150, 3], 'int32');
    const t0 = process.hrtime.bigint();
    const d = await net.computeFaceDescriptor(input);
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
    input.dispose();
    if (!(d instanceof Float32Array) || d.length !== 128) throw new Error(`${job.file}: unexpected descriptor`);
    faces.push({ set: job.set, name: job.name, descriptor: Array.from(d) });
  }

  const fixture = {
    package: `@vladmandic/face-api@${pkgVersion('@vladmandic/face-api')}`,
    tfjs: pkgVersion('@tensorflow/tfjs-core'),
    backend: tf.getBackend(),
    faces,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  // One face per line: diffs of a regenerated fixture stay readable.
  const body = faces.map((f) => `    ${JSON.stringify(f)}`).join(',\n');
  const head = JSON.stringify({ ...fixture, faces: undefined }, null, 2).replace(/\n}$/, '');
  fs.writeFileSync(OUT, `${head},\n  "faces": [\n${body}\n  ]\n}\n`);
  console.log(`${faces.length} descriptors -> ${OUT}`);
  console.log(`tfjs ${fixture.tfjs} ${fixture.backend}: ${(ms / faces.length).toFixed(1)} ms per face (${faces.length} faces, ${(ms / 1000).toFixed(1)} s)`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});

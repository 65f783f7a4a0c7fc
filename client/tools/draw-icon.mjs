// Draws media/icon.png (128x128): a Pareto front over a scatter of children on a dark tile.
// Usage: node client/tools/draw-icon.mjs
import { PNG } from 'pngjs';
import { writeFileSync } from 'node:fs';

const S = 128;
const png = new PNG({ width: S, height: S });
const put = (x, y, [r, g, b], a = 1) => {
  if (x < 0 || y < 0 || x >= S || y >= S) return;
  const i = (y * S + x) * 4;
  const d = png.data;
  d[i] = Math.round(d[i] * (1 - a) + r * a);
  d[i + 1] = Math.round(d[i + 1] * (1 - a) + g * a);
  d[i + 2] = Math.round(d[i + 2] * (1 - a) + b * a);
  d[i + 3] = Math.max(d[i + 3], Math.round(255 * a));
};
// Rounded tile with a vertical gradient.
const R = 22;
for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
  const dx = Math.max(R - x, x - (S - 1 - R), 0);
  const dy = Math.max(R - y, y - (S - 1 - R), 0);
  const cover = Math.min(1, Math.max(0, R + 0.5 - Math.hypot(dx, dy)));
  if (cover <= 0) continue;
  const t = y / S;
  put(x, y, [Math.round(24 + 10 * t), Math.round(38 + 12 * t), Math.round(60 + 20 * t)], cover);
}
const disc = (cx, cy, r, color) => {
  for (let y = Math.floor(cy - r - 1); y <= cy + r + 1; y++) for (let x = Math.floor(cx - r - 1); x <= cx + r + 1; x++) {
    const a = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(x - cx, y - cy)));
    if (a > 0) put(x, y, color, a);
  }
};
const line = (x0, y0, x1, y1, w, color) => {
  const n = Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2);
  for (let i = 0; i <= n; i++) disc(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, w / 2, color);
};
// Axes.
line(22, 106, 108, 106, 3, [150, 170, 190]);
line(22, 106, 22, 20, 3, [150, 170, 190]);
// Children (deterministic scatter), colored by "step".
let s = 7;
const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
for (let i = 0; i < 26; i++) {
  const x = 34 + rnd() * 66;
  const y = 40 + rnd() * 56 + (x - 34) * -0.15;
  const t = i / 25;
  disc(x, y, 3.2, [Math.round(70 + 150 * t), Math.round(120 + 90 * t), Math.round(200 - 120 * t)]);
}
// Pareto front.
const front = [[30, 92], [44, 64], [62, 46], [84, 34], [104, 28]];
for (let i = 1; i < front.length; i++) line(...front[i - 1], ...front[i], 5, [255, 160, 40]);
for (const [x, y] of front) disc(x, y, 6, [255, 196, 90]);
writeFileSync(new URL('../../media/icon.png', import.meta.url), PNG.sync.write(png));

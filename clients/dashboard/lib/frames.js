// One animation loop for the page: meters, sparklines, the timeline and the call timer are drawn
// once per frame by the draw functions main.js hands in.

/** Calls every `draw(now)` (now = performance.now()) on each animation frame, in order. */
export function startFrames(draws) {
  const frame = () => {
    const now = performance.now();
    for (const draw of draws) draw(now);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

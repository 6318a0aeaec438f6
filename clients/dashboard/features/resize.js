// Resizable panels on a wide screen: the handles between Rooms, the room and the side panel set the
// outer panels' widths (CSS --rooms-w, --side-w on .layout) by dragging or with the arrow keys, and
// the page remembers them (localStorage). Below 1100 px the layout stacks and the handles hide.

import { $ } from '../lib/dom.js';

/** Width limits (px) and the key step of each handle. */
const LIMITS = { rooms: { min: 180, max: 520, initial: 260 }, side: { min: 300, max: 820, initial: 440 } };
const STEP = 24;
const SAVED = 'dashboard.panel-widths';

/** Binds both handles. */
export function bindResizers() {
  const layout = $('layout');
  const widths = { rooms: LIMITS.rooms.initial, side: LIMITS.side.initial, ...readSaved() };

  function set(which, px, save = true) {
    const { min, max } = LIMITS[which];
    widths[which] = Math.round(Math.min(max, Math.max(min, px)));
    layout.style.setProperty(`--${which}-w`, `${widths[which]}px`);
    const handle = document.querySelector(`.resizer[data-resize="${which}"]`);
    handle.setAttribute('aria-valuenow', String(widths[which]));
    if (save) localStorage.setItem(SAVED, JSON.stringify(widths));
  }

  for (const handle of document.querySelectorAll('.resizer')) {
    const which = handle.dataset.resize;
    handle.setAttribute('aria-valuemin', String(LIMITS[which].min));
    handle.setAttribute('aria-valuemax', String(LIMITS[which].max));
    handle.addEventListener('pointerdown', (event) => {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      handle.classList.add('dragging');
      const box = layout.getBoundingClientRect();
      const move = (e) => set(which, which === 'rooms' ? e.clientX - box.left - 14 : box.right - 14 - e.clientX);
      const stop = () => {
        handle.classList.remove('dragging');
        handle.removeEventListener('pointermove', move);
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', stop, { once: true });
      handle.addEventListener('pointercancel', stop, { once: true });
    });
    handle.addEventListener('keydown', (event) => {
      // Right widens the rooms panel and narrows the side panel (its handle moves right).
      const sign = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!sign) return;
      event.preventDefault();
      set(which, widths[which] + (which === 'rooms' ? sign : -sign) * STEP);
    });
    set(which, widths[which], false);
  }
}

function readSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(SAVED) ?? '{}');
    return Object.fromEntries(Object.entries(saved).filter(([key, value]) => key in LIMITS && Number.isFinite(value)));
  } catch {
    return {};
  }
}

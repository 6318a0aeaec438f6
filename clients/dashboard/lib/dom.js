// Small DOM helpers every feature uses: find and build elements, show a time, show a toast.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element: `attrs` sets class, text, data-* attributes or properties; then its children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** The wall-clock time with milliseconds, as the event log and transcripts show it. */
export function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false }) + '.' + String(date.getMilliseconds()).padStart(3, '0');
}

/** A short id (its first 8 characters) with a button that copies the whole id. */
export function shortId(id, what = 'id') {
  const button = el('button', { class: 'copy', type: 'button', text: 'copy', title: `copy the ${what} ${id}` });
  button.setAttribute('aria-label', `copy the ${what} ${id}`);
  button.addEventListener('click', async (event) => {
    event.stopPropagation();
    try {
      await navigator.clipboard.writeText(id);
      toast(`copied ${id}`, true);
    } catch {
      toast(`the browser refused the clipboard; the ${what} is ${id}`);
    }
  });
  return el('span', { class: 'short-id', title: id }, el('span', { text: id.slice(0, 8) }), button);
}

/** A protocol error as "code: message", anything else as its message. */
export function describeError(err) {
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? err);
}

let toastTimer;

/** Shows `text` at the bottom of the page for 5 s (green when `ok`). */
export function toast(text, ok = false) {
  const node = $('toast');
  node.textContent = text;
  node.className = ok ? 'toast ok' : 'toast';
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 5000);
}

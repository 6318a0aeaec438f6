// How a participant is shown wherever they appear: name, initials, colour.

/** The participant's user name, or the start of their id when they gave none. */
export function displayName(participant) {
  return participant.info?.userName || participant.id.slice(0, 8);
}

/** A stable hue (0..359) for a name, so a person has the same colour on their card and lane. */
export function hue(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

/** Up to two initials for an avatar. */
export function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

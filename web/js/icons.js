// Line icons drawn as inline SVG (no icon font, no emoji that a system may
// lack). Each is decorative: the button around it carries the accessible name.

const NS = 'http://www.w3.org/2000/svg';

// [d, filled?]
const ICONS = {
  heart: [['M12 20.5s-7.4-4.5-9.4-9C1.2 8.2 3.2 4.5 6.8 4.5c2.1 0 3.6 1.1 4.2 2.5.6-1.4 2.1-2.5 4.2-2.5 3.6 0 5.6 3.7 4.2 7-2 4.5-7.4 9-7.4 9z', true]],
  comment: [['M4.5 5h15a1.5 1.5 0 0 1 1.5 1.5v9a1.5 1.5 0 0 1-1.5 1.5H10l-5 3.5V17h-.5A1.5 1.5 0 0 1 3 15.5v-9A1.5 1.5 0 0 1 4.5 5z', true]],
  share: [['M13.5 4.5l7 6.5-7 6.5v-4c-4.6 0-7.6 1.3-10 4.6.7-5.4 3.8-9.2 10-10z', true]],
  more: [['M5 10.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm7 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm7 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z', true]],
  muted: [['M4 9h3.5L12 5v14l-4.5-4H4z', true], ['M16 9.5l5 5M21 9.5l-5 5', false]],
  sound: [['M4 9h3.5L12 5v14l-4.5-4H4z', true], ['M15.5 9a4 4 0 0 1 0 6M18 6.5a7.5 7.5 0 0 1 0 11', false]],
  play: [['M8 5v14l11-7z', true]],
  pause: [['M7 5h3.5v14H7zM13.5 5H17v14h-3.5z', true]],
  expand: [['M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5', false]],
  shrink: [['M9 4v5H4M20 9h-5V4M15 20v-5h5M4 15h5v5', false]],
  plus: [['M12 5v14M5 12h14', false]],
  check: [['M5 12.5l4.5 4.5L19 7.5', false]],
  home: [['M3.5 11L12 4l8.5 7v8.5a1 1 0 0 1-1 1H15v-6H9v6H4.5a1 1 0 0 1-1-1z', false]],
  search: [['M10.5 4a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zM15.5 15.5L20 20', false]],
  shield: [['M12 3.5l7.5 3v5.5c0 4.3-3.2 7.9-7.5 8.7-4.3-.8-7.5-4.4-7.5-8.7V6.5zM8.8 12l2.2 2.2 4.2-4.4', false]],
  user: [['M12 4a4 4 0 1 1 0 8 4 4 0 0 1 0-8zM4.5 20.5c.8-3.6 3.8-6 7.5-6s6.7 2.4 7.5 6', false]],
  bell: [['M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 2h-15zM10 20.5a2 2 0 0 0 4 0', false]],
  info: [['M12 3.5a8.5 8.5 0 1 1 0 17 8.5 8.5 0 0 1 0-17zM12 11v5.5M12 7.6v.4', false]],
};

export function icon(name, size = 24) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  for (const [d, filled] of ICONS[name] || []) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    if (filled) p.setAttribute('fill', 'currentColor');
    else {
      p.setAttribute('fill', 'none');
      p.setAttribute('stroke', 'currentColor');
      p.setAttribute('stroke-width', '2');
      p.setAttribute('stroke-linecap', 'round');
      p.setAttribute('stroke-linejoin', 'round');
    }
    svg.append(p);
  }
  return svg;
}

// Static markup (the navigation in index.html) names its icons with data-icon.
export function hydrateIcons(root = document) {
  for (const slot of root.querySelectorAll('[data-icon]')) {
    slot.replaceChildren(icon(slot.dataset.icon, Number(slot.dataset.size) || 24));
  }
}

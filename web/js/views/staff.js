// Staff consoles (moderation queue, release approvals). They appear once the
// server offers the staff endpoints; until then the page says so.

import { api, describe } from '../api.js';
import { failure, h } from '../dom.js';

export async function render(root, _params, ctx) {
  if (!ctx.requireLogin()) return;
  const page = h('section', { class: 'page' }, h('h1', {}, 'Staff console'));
  root.append(page);
  try {
    const cases = await api('/v1/staff/cases', { fixedPath: true });
    const items = cases?.items || [];
    page.append(h('h2', {}, 'Moderation queue'),
      items.length ? h('ul', {}, items.map((c) => h('li', {}, `${c.id}: ${c.category || ''} ${c.state || ''}`))) : h('p', {}, 'The queue is empty.'));
  } catch (err) {
    page.append(failure(describe(err), err));
  }
}

// Decisions about my content: each moderation decision that restricted
// something of mine, with its statement of reasons (the decision, where it
// applies, the facts, whether automated means were used, the ground, the
// redress), and the way to appeal it within six months.

import { api, describe } from '../api.js';
import { failure, formatDate, h, toast } from '../dom.js';

export async function render(root, _params, ctx) {
  const page = h('section', { class: 'page decisions-page' },
    h('h1', {}, 'Decisions about my content'),
    h('p', { class: 'muted' }, 'When a moderator restricts something you posted, the statement of reasons is here. You can appeal each decision within six months; a different moderator reviews the appeal. Every decision is also on your region’s public log.'));
  root.append(page);
  if (!ctx.session.me) {
    page.append(h('p', {}, h('a', { href: '/login' }, 'Log in'), ' to see decisions about your content.'));
    return;
  }
  const list = h('ul', { class: 'decisions' });
  const out = h('div', { 'aria-live': 'polite' }, h('p', { role: 'status' }, 'Loading…'));
  page.append(out);
  try {
    const answer = await api('/v1/me/decisions', { fixedPath: true });
    const items = answer?.items || [];
    if (!items.length) {
      out.replaceChildren(h('p', {}, 'No decision has restricted your content.'));
      return;
    }
    list.append(...items.map((d) => decisionCard(d, () => render(replace(root, page), _params, ctx))));
    out.replaceChildren(list);
  } catch (err) {
    out.replaceChildren(failure(describe(err), err));
  }
}

function replace(root, page) {
  page.remove();
  return root;
}

const WHAT = { video: 'Your video', comment: 'Your comment', account: 'Your account' };

function decisionCard(d, reload) {
  const target = `${WHAT[d.target.kind] || 'Your content'}${d.target.summary ? `: “${d.target.summary}”` : ''}`;
  const appeal = d.redress.appeal;
  const state = appeal
    ? h('p', { class: 'appeal-state' }, appeal.outcome === 'reverse'
      ? 'Your appeal was accepted and the decision reversed.'
      : appeal.outcome === 'uphold' ? 'Your appeal was reviewed and the decision upheld.' : 'Your appeal is waiting for a moderator.')
    : null;
  const card = h('li', { class: 'card decision', 'data-decision': d.id },
    h('h2', {}, target),
    h('p', {}, h('strong', {}, d.decision.text)),
    d.decision.note ? h('p', {}, `Fact-check note: ${d.decision.note}`) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Decided'), h('dd', {}, formatDate(d.decided_at)),
      h('dt', {}, 'Where it applies'), h('dd', {}, d.territorial_scope),
      h('dt', {}, 'Facts relied on'), h('dd', {}, d.facts),
      h('dt', {}, 'Automated means'), h('dd', {}, d.automated_text),
      h('dt', {}, 'Ground'), h('dd', {}, `${d.ground.kind === 'law' ? 'The law' : 'Sovereel’s terms'}: ${d.ground.reference}`),
      h('dt', {}, 'Reported for'), h('dd', {}, (d.categories || []).map((c) => c.replace('_', ' ')).join(', ') || '—'),
      h('dt', {}, 'Your options'), h('dd', {}, d.redress.text),
      h('dt', {}, 'On the log'), h('dd', {}, `entry ${d.ledger_index}`)),
    d.reversed_at ? h('p', { class: 'ready' }, `Reversed on ${formatDate(d.reversed_at)}.`) : null,
    state,
    d.redress.can_appeal ? appealForm(d, reload) : null);
  return card;
}

function appealForm(d, reload) {
  const id = `appeal-${d.id}`;
  const text = h('textarea', { class: 'input', id, rows: '3', required: 'required', maxlength: '2000' });
  const message = h('p', { role: 'status' });
  const form = h('form', { class: 'form' },
    h('label', { for: id }, `Appeal this decision (until ${formatDate(d.redress.appeal_until)}): why is it wrong?`), text,
    h('button', { type: 'submit', class: 'button primary' }, 'Send appeal'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(`/v1/me/decisions/${encodeURIComponent(d.id)}/appeal`, { method: 'POST', body: { text: text.value } });
      toast('Appeal sent. A different moderator will review it.');
      reload();
    } catch (err) {
      message.textContent = describe(err);
    }
  });
  return form;
}

// Log in and sign up. Sign-up shows, before anything is sent, which region will
// hold the account's data and which custodian runs it.

import { api, ApiError, describe } from '../api.js';
import { h } from '../dom.js';

export async function render(root, { mode }, ctx) {
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  if (ctx.session.me) {
    root.append(h('section', { class: 'page narrow' },
      h('h1', {}, `You are logged in as @${ctx.session.me.handle}`),
      h('p', { class: 'actions' },
        h('a', { class: 'button primary', href: next }, 'Continue'),
        h('button', { type: 'button', class: 'button', onclick: () => logOut(ctx) }, 'Log out'))));
    return;
  }
  if (mode === 'signup') return signUp(root, ctx, next);
  return logIn(root, ctx, next);
}

function safeNext(value) {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/login') && !value.startsWith('/signup') ? value : '/';
}

export async function logOut(ctx) {
  try {
    await api('/v1/sessions/current', { method: 'DELETE', auth: false });
  } catch {
    // The cookie may already be gone; either way we are logged out here.
  }
  ctx.session.clear();
  ctx.navigate('/login', { replace: true });
}

function field(id, label, input, hint) {
  input.id = id;
  input.name = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null);
}

function logIn(root, ctx, next) {
  const handle = h('input', { class: 'input', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { class: 'input', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Log in');
  const form = h('form', { class: 'form', 'aria-labelledby': 'login-title' },
    field('login-handle', 'Handle', handle),
    field('login-password', 'Password', password),
    submit, message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    try {
      await api('/v1/sessions', { method: 'POST', auth: false, body: { handle: handle.value.trim().replace(/^@/, ''), password: password.value } });
      await ctx.session.refresh();
      ctx.navigate(next, { replace: true });
    } catch (err) {
      message.textContent = err instanceof ApiError && err.status === 401 ? 'That handle and password do not match an account.' : describe(err);
      submit.disabled = false;
    }
  });
  root.append(h('section', { class: 'page narrow' },
    h('h1', { id: 'login-title' }, 'Log in to Sovereel'),
    form,
    h('p', {}, 'New here? ', h('a', { href: `/signup${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Create an account'), '.')));
  handle.focus();
}

async function signUp(root, ctx, next) {
  const handle = h('input', { class: 'input', type: 'text', autocomplete: 'username', required: true, pattern: '[A-Za-z0-9_.]{2,30}', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'signup-handle-hint' });
  const email = h('input', { class: 'input', type: 'email', autocomplete: 'email', required: true });
  const password = h('input', { class: 'input', type: 'password', autocomplete: 'new-password', required: true, minlength: '8', 'aria-describedby': 'signup-password-hint' });
  const birthdate = h('input', { class: 'input', type: 'date', required: true, max: new Date().toISOString().slice(0, 10), 'aria-describedby': 'signup-birthdate-hint' });
  const country = h('select', { class: 'input', required: true, 'aria-describedby': 'residency' }, h('option', { value: '' }, 'Loading countries…'));
  const residency = h('p', { id: 'residency', class: 'residency', role: 'status' }, 'Choose your country to see where your data will be held.');
  const message = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign up');
  const form = h('form', { class: 'form', 'aria-labelledby': 'signup-title' },
    message,
    field('signup-handle', 'Handle', handle, 'Letters, digits, dots and underscores. Your handle is public.'),
    field('signup-email', 'Email', email),
    field('signup-password', 'Password', password, 'At least 8 characters.'),
    field('signup-birthdate', 'Date of birth', birthdate, 'You must be 13 or older. Accounts under 16 start private.'),
    field('signup-country', 'Country', country),
    residency,
    submit);
  root.append(h('section', { class: 'page narrow' },
    h('h1', { id: 'signup-title' }, 'Create your account'),
    form,
    h('p', {}, 'Already have an account? ', h('a', { href: '/login' }, 'Log in'), '.')));

  // Countries and regions decide the residency sentence; without them the user
  // can still type a country code and the server decides.
  let regions = [];
  let countries = [];
  try {
    const [r, c] = await Promise.all([api('/v1/regions', { auth: false, fixedPath: true }), api('/v1/countries', { auth: false, fixedPath: true })]);
    regions = r?.items || [];
    countries = (c?.items || []).slice().sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    residency.textContent = `Your home region will be shown after sign-up. (${describe(err)})`;
  }
  if (countries.length) {
    country.replaceChildren(h('option', { value: '' }, 'Choose your country'), ...countries.map((c) => h('option', { value: c.code }, c.name)));
  } else {
    const code = h('input', { class: 'input', type: 'text', required: true, maxlength: '2', pattern: '[A-Za-z]{2}', autocomplete: 'country', 'aria-describedby': 'residency' });
    code.id = 'signup-country';
    country.replaceWith(code);
    code.previousElementSibling.textContent = 'Country (two-letter ISO code, such as US or AU)';
  }

  function regionFor(code) {
    const c = countries.find((x) => x.code === code);
    return regions.find((r) => r.id === c?.region) || regions.find((r) => (r.countries || []).includes(code)) || regions.find((r) => r.default);
  }
  country.addEventListener('change', () => {
    const region = country.value && regionFor(country.value);
    residency.textContent = region
      ? `Your data is held in ${region.name} by ${region.custodian}.`
      : 'Choose your country to see where your data will be held.';
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    for (const line of form.querySelectorAll('.field-error')) line.textContent = '';
    const age = ageOn(birthdate.value);
    if (age !== null && age < 13) {
      message.textContent = 'You must be 13 or older to use Sovereel.';
      return;
    }
    const countryInput = form.querySelector('#signup-country');
    submit.disabled = true;
    try {
      const body = {
        handle: handle.value.trim().replace(/^@/, ''),
        password: password.value,
        email: email.value.trim(),
        country: countryInput.value.trim().toUpperCase(),
        birthdate: birthdate.value,
      };
      const created = await api('/v1/accounts', { method: 'POST', auth: false, body });
      await api('/v1/sessions', { method: 'POST', auth: false, body: { handle: body.handle, password: body.password } });
      await ctx.session.refresh();
      const region = created?.region;
      root.replaceChildren(h('section', { class: 'page narrow' },
        h('h1', {}, `Welcome, @${body.handle}`),
        region ? h('p', { class: 'residency', 'data-testid': 'home-region' }, `Your data is held in ${region.name} by ${region.custodian}.`) : null,
        h('p', {}, 'Only that custodian holds the keys to your personal data. Every access by anyone else is written to a public log that you can check in your ', h('a', { href: '/privacy' }, 'privacy centre'), '.'),
        h('p', { class: 'actions' }, h('a', { class: 'button primary', href: next }, 'Start watching'), h('a', { class: 'button', href: '/upload' }, 'Upload a video'))));
    } catch (err) {
      showError(err);
      submit.disabled = false;
    }
  });
  handle.focus();

  // A field's error goes under that field, once, and the field gets focus;
  // anything else shows where the form starts, scrolled into view.
  function showError(err) {
    if (err instanceof ApiError && err.type === '/problems/handle-taken') {
      fieldError(handle, 'That handle is taken. Try another.');
      handle.focus();
      return;
    }
    const match = err instanceof ApiError ? /^([a-z_]+): (.+)$/s.exec(err.detail || '') : null;
    const inputs = { handle, email, password, birthdate, country: form.querySelector('#signup-country') };
    const input = match && inputs[match[1]];
    if (input) {
      fieldError(input, match[2].charAt(0).toUpperCase() + match[2].slice(1));
      input.focus();
      return;
    }
    message.textContent = describe(err);
    message.scrollIntoView({ block: 'nearest' });
  }
}

// The error line under a field, tied to it for screen readers.
function fieldError(input, text) {
  const id = `${input.id}-error`;
  let line = document.getElementById(id);
  if (!line) {
    line = h('p', { class: 'error field-error', id, role: 'alert' });
    input.insertAdjacentElement('afterend', line);
    input.addEventListener('input', () => {
      line.textContent = '';
      input.removeAttribute('aria-invalid');
    }, { once: true });
  }
  line.textContent = text;
  input.setAttribute('aria-invalid', 'true');
  const described = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  described.add(id);
  input.setAttribute('aria-describedby', [...described].join(' '));
}

function ageOn(dateText) {
  const born = new Date(`${dateText}T00:00:00`);
  if (Number.isNaN(born.getTime())) return null;
  const now = new Date();
  let age = now.getFullYear() - born.getFullYear();
  if (now.getMonth() < born.getMonth() || (now.getMonth() === born.getMonth() && now.getDate() < born.getDate())) age--;
  return age;
}

// Modal dialogs on the native <dialog> element: the browser gives Escape to
// close and the inert page behind it; Tab is kept inside here (the browser
// would let it leave for its own toolbar).

import { h } from './dom.js';

let counter = 0;

export function openDialog({ title, body, className = '', onClose } = {}) {
  const id = `dialog-title-${++counter}`;
  const opener = document.activeElement;
  const closeButton = h('button', { type: 'button', class: 'icon-button dialog-close', 'aria-label': 'Close' }, '✕');
  const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': id },
    h('header', { class: 'dialog-head' }, h('h2', { id }, title), closeButton),
    h('div', { class: 'dialog-body' }, body));
  const close = () => dialog.open && dialog.close();
  closeButton.addEventListener('click', close);
  // A click on the backdrop (the dialog box itself, outside its content) closes it.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) close();
  });
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const focusable = [...dialog.querySelectorAll('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')]
      .filter((el) => !el.disabled && !el.closest('[hidden], [inert]') && el.getClientRects().length);
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey ? document.activeElement === first || !dialog.contains(document.activeElement) : document.activeElement === last) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close, body: dialog.querySelector('.dialog-body') };
}

// Modal dialogs on the native <dialog> element: the browser gives focus
// trapping, Escape to close and the inert page behind it.

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
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close, body: dialog.querySelector('.dialog-body') };
}

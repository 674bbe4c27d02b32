// The conversation list: newest first, with a "New chat" button and a delete button per entry.

import { el } from './dom.js';

function timeLabel(iso) {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return '';
  const minutes = Math.round((Date.now() - at) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(at).toLocaleDateString();
}

/**
 * Draws conversations into `list` (an `<ol>`). `onSelect(id)` and `onDelete(id)` are called when
 * the user picks or deletes one.
 */
export function createConversationList({ list, onSelect, onDelete }) {
  return {
    render(conversations, currentId) {
      list.replaceChildren();
      for (const conversation of conversations) {
        const id = conversation.conversation_id;
        const item = el('li', 'conversation');
        item.dataset.id = id;
        if (id === currentId) item.setAttribute('aria-current', 'true');
        if (conversation.running) item.dataset.running = 'true';
        const open = el('button', 'conversation-open');
        open.type = 'button';
        open.append(el('span', 'conversation-title', conversation.title || 'New conversation'));
        open.append(el('span', 'conversation-time', timeLabel(conversation.updated_at)));
        open.addEventListener('click', () => onSelect(id));
        const remove = el('button', 'conversation-delete icon-button', '×');
        remove.type = 'button';
        remove.setAttribute('aria-label', `Delete "${conversation.title || id}"`);
        remove.addEventListener('click', () => onDelete(id));
        item.append(open, remove);
        list.append(item);
      }
    },
  };
}

import { imageTypeOf } from '../internal/image-type.js';
import type { TranscriptMessage } from '../types.js';

/**
 * A turn read from storage, its tool images checked again: an image whose first bytes are not
 * the PNG, JPEG, GIF or WebP its type says is left out, and its message says so. Images are
 * checked when a tool returns them, but a history may hold images stored before that check, or
 * written by someone else: one bad image is sent again with every later request, and providers
 * refuse it each time ("Image does not match the provided media type"), so the conversation
 * could never answer again. Only the head of each image is read, so a read costs the same
 * whatever the images' sizes. Changes `turn` in place (it was just parsed) and returns it.
 * @internal
 */
export function withUsableImages(turn: TranscriptMessage[]): TranscriptMessage[] {
  for (const message of turn) {
    if (message.role !== 'tool' || message.images === undefined) continue;
    const kept = message.images.filter(isUsable);
    const left = message.images.length - kept.length;
    if (left === 0) continue;
    if (kept.length > 0) message.images = kept;
    else delete message.images;
    message.content += `\n[${left === 1 ? 'an image' : `${left} images`} left out: not a PNG, JPEG, GIF or WebP image of the type stored]`;
  }
  return turn;
}

function isUsable(image: { data: string; mimeType: string }): boolean {
  return image.data.length % 4 === 0 && imageTypeOf(image.data) === image.mimeType;
}

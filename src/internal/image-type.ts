/**
 * The media type of base64 image data, read from its first bytes (the file signature): `image/png`,
 * `image/jpeg`, `image/gif` or `image/webp`, the types every vision provider takes, or `undefined`
 * for anything else (empty data, another format, bytes that are no image, a head that is not
 * base64 without whitespace). Reads 16 characters at most, whatever the size: whether the rest
 * is base64 is the caller's to check where it matters.
 *
 * Why the bytes and not the declared type: an image kept in a conversation is sent with every
 * later request, and providers refuse data that is no image of the type it is sent as (Anthropic:
 * "Image does not match the provided media type"), so one bad image would fail them all.
 * @internal
 */
export function imageTypeOf(data: string): string | undefined {
  // 16 base64 characters are 12 bytes: enough for the longest signature (WebP's RIFF....WEBP).
  const encoded = data.slice(0, 16);
  if (!BASE64_HEAD.test(encoded)) return undefined;
  const head = atob(encoded);
  if (head.startsWith('\x89PNG\r\n\x1a\n')) return 'image/png';
  if (head.startsWith('\xff\xd8\xff')) return 'image/jpeg';
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

// Base64 without whitespace, padding only at its end (atob would skip whitespace, or throw).
const BASE64_HEAD = /^[A-Za-z0-9+/]+={0,2}$/;

/** Who is calling, as `authenticate` returns it. `id` is the session key. */
export interface ChatUser {
  id: string;
  [key: string]: unknown;
}

/** An inspector session of the bench server on itself, for its profilers. */
import { Session } from 'node:inspector';

/** A connected session: `post` sends one protocol command, `close` disconnects. */
export interface InspectorSession {
  post<T>(method: string, params?: object): Promise<T>;
  close(): void;
}

/** Connects a new session: one that was disconnected is not connected again. */
export function openInspectorSession(): InspectorSession {
  const session = new Session();
  session.connect();
  return {
    post: <T>(method: string, params?: object) =>
      new Promise<T>((resolve, reject) => {
        session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
      }),
    close: () => session.disconnect(),
  };
}

import { useSyncExternalStore } from 'react';
import { errorText } from './api.js';

/** Whether the server refused the current token (or asked for one), and what it said. */
let refusal: string | null = null;
const listeners = new Set<() => void>();
const emit = (): void => listeners.forEach((l) => l());

export const authState = {
  refused(e: unknown): void {
    refusal = errorText(e);
    emit();
  },
  accepted(): void {
    refusal = null;
    emit();
  },
};

export function useAuthRefusal(): string | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => refusal,
  );
}

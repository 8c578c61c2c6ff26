/**
 * The thread view is its own chunk. It is loaded here rather than through React.lazy: a lazy
 * component suspends at least once, and React holds a revealed Suspense boundary back for up to
 * 300 ms after its fallback was shown, which would delay a thread's first turns by that much.
 */
type ThreadViewModule = typeof import('./ThreadView.js');

let loaded: ThreadViewModule | null = null;
let loading: Promise<ThreadViewModule> | null = null;

export function loadThreadView(): Promise<ThreadViewModule> {
  loading ??= import('./ThreadView.js').then((m) => (loaded = m));
  return loading;
}

/** The thread view's module when it has loaded, else null. */
export const loadedThreadView = (): ThreadViewModule | null => loaded;

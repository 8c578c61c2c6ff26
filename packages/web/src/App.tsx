import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { token } from './api.js';
import { authState, useAuthRefusal } from './auth-state.js';
import { navigate, onLinkClick, useRoute } from './route.js';
import { SearchView } from './SearchView.js';
import { ThreadList } from './ThreadList.js';
import { loadedThreadView, loadThreadView } from './thread-view-loader.js';

type Theme = 'light' | 'dark';
const THEME_KEY = 'skein.theme';

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function App() {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const searchRef = useRef<HTMLInputElement>(null);
  const [searchText, setSearchText] = useState(route.view === 'search' ? route.q : '');

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  useEffect(() => {
    if (route.view === 'search') setSearchText(route.q);
  }, [route]);

  // `/` focuses the search box from anywhere but a text field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== '/' || isTyping(e.target)) return;
      e.preventDefault();
      searchRef.current?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <>
      <header className="top">
        <a href="/" className="brand" onClick={onLinkClick}>
          Skein
        </a>
        <form
          className="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = searchText.trim();
            if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
          }}
        >
          <input
            ref={searchRef}
            type="search"
            aria-label="Search thread contents"
            placeholder="Search contents (press /)"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') e.currentTarget.blur();
            }}
          />
        </form>
        <button
          type="button"
          className="theme"
          aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
          onClick={() => {
            const next = theme === 'dark' ? 'light' : 'dark';
            localStorage.setItem(THEME_KEY, next);
            setTheme(next);
          }}
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      <main>
        {route.view === 'list' && <ThreadList query={route.query} />}
        {route.view === 'search' && <SearchView q={route.q} />}
        {route.view === 'thread' && (
          <ThreadViewWhenLoaded key={route.threadId} threadId={route.threadId} turn={route.turn} q={route.q} />
        )}
      </main>
      <TokenPrompt />
    </>
  );
}

/** A thread (and the Markdown renderer only it needs) is its own chunk, so the list loads less. */
function ThreadViewWhenLoaded(props: { threadId: string; turn: string | null; q: string | null }) {
  const [mod, setMod] = useState(loadedThreadView);
  useEffect(() => {
    if (!mod) void loadThreadView().then(setMod);
  }, [mod]);
  return mod ? <mod.ThreadView {...props} /> : <p>Loading…</p>;
}

export function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

/** Shown when the server wants a token: it is kept for this tab only and sent with every call. */
function TokenPrompt() {
  const refusal = useAuthRefusal();
  const queryClient = useQueryClient();
  const [value, setValue] = useState('');
  if (refusal === null) return null;
  const hadToken = token.get() !== null;
  return (
    <div className="overlay">
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="token-title"
        onSubmit={(e) => {
          e.preventDefault();
          token.set(value.trim());
          setValue('');
          authState.accepted();
          void queryClient.resetQueries();
        }}
      >
        <h2 id="token-title">This server needs a token</h2>
        {hadToken ? (
          <p className="error" role="alert">
            The server refused that token: {refusal}
          </p>
        ) : (
          <p>Enter a token from the server&apos;s token file. It is kept for this tab only.</p>
        )}
        <label>
          Token
          <input
            type="password"
            autoComplete="off"
            autoFocus
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        <button type="submit" disabled={value.trim() === ''}>
          Connect
        </button>
      </form>
    </div>
  );
}

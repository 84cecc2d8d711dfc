/**
 * Toasts: errors carry the server's own message (and its code), successes and notes fade.
 * One provider at the top; `useToasts().error(err)` takes any thrown value.
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { ApiError } from '../api/http';
import './toasts.css';

export type ToastKind = 'error' | 'info' | 'success';

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  message?: string;
  code?: string;
}

export interface Toasts {
  push(toast: Omit<Toast, 'id'>): void;
  /** Shows a thrown value: an ApiError's message and code, or the error's text. */
  error(error: unknown, title?: string): void;
  info(title: string, message?: string): void;
  success(title: string, message?: string): void;
}

const ToastContext = createContext<Toasts | null>(null);

export function useToasts(): Toasts {
  const toasts = useContext(ToastContext);
  if (!toasts) throw new Error('useToasts needs a <ToastProvider> above it');
  return toasts;
}

const LIFETIME: Record<ToastKind, number> = { error: 12_000, info: 6_000, success: 4_000 };

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => {
    setToasts((list) => list.filter((toast) => toast.id !== id));
  }, []);

  const push = useCallback(
    (toast: Omit<Toast, 'id'>) => {
      const id = nextId.current++;
      // The same error twice in a row (a retrying autosave) shows once.
      setToasts((list) =>
        list.some((t) => t.title === toast.title && t.message === toast.message)
          ? list
          : [...list.slice(-4), { ...toast, id }],
      );
      window.setTimeout(() => dismiss(id), LIFETIME[toast.kind]);
    },
    [dismiss],
  );

  const value = useMemo<Toasts>(
    () => ({
      push,
      error(error, title = 'Something went wrong') {
        if (error instanceof DOMException && error.name === 'AbortError') return;
        if (error instanceof ApiError)
          push({ kind: 'error', title, message: error.message, code: error.code });
        else
          push({
            kind: 'error',
            title,
            message: error instanceof Error ? error.message : String(error),
          });
      },
      info: (title, message) => push({ kind: 'info', title, ...(message ? { message } : {}) }),
      success: (title, message) =>
        push({ kind: 'success', title, ...(message ? { message } : {}) }),
    }),
    [push],
  );

  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="toasts" role="region" aria-label="Notifications">
        {toasts.map((toast) => (
          <div
            key={toast.id}
            className={`toast toast--${toast.kind}`}
            role={toast.kind === 'error' ? 'alert' : 'status'}
          >
            <div className="toast__body">
              <strong>{toast.title}</strong>
              {toast.message && <p>{toast.message}</p>}
              {toast.code && <code className="toast__code">{toast.code}</code>}
            </div>
            <button className="icon-button" aria-label="Dismiss" onClick={() => dismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

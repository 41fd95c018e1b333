/** Short messages that confirm an action or say why it was refused. One shows at a time. */
import { create } from "zustand";

/** How long a toast stays up, in milliseconds. */
export const TOAST_MS = 3000;

export type ToastTone = "info" | "error";

export interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
}

export const useToast = create<{ toast: Toast | null }>()(() => ({ toast: null }));

let nextId = 1;
let timer: ReturnType<typeof setTimeout> | undefined;

export function showToast(message: string, tone: ToastTone = "info"): void {
  clearTimeout(timer);
  useToast.setState({ toast: { id: nextId++, message, tone } });
  timer = setTimeout(() => useToast.setState({ toast: null }), TOAST_MS);
}

export function dismissToast(): void {
  clearTimeout(timer);
  useToast.setState({ toast: null });
}

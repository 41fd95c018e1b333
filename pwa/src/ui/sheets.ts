/** Which bottom sheet is open. The block props sheet is not listed: it follows the selection. */
import { create } from "zustand";

export type SheetName = "palette" | "designs" | "details" | "run";

export const useSheet = create<{ open: SheetName | null }>()(() => ({ open: null }));

export function openSheet(name: SheetName | null): void {
  useSheet.setState({ open: name });
}

export function toggleSheet(name: SheetName): void {
  useSheet.setState(({ open }) => ({ open: open === name ? null : name }));
}

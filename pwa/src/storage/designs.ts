/** The designs stored on this device: list, load, save, delete. */
import type { DocumentOutcome } from "../model/document";
import type { ModelArchitecture } from "../model/types";
import { studioDb } from "./db";

export interface DesignSummary {
  id: string;
  name: string;
  blocks: number;
  updatedAt: number;
}

const LAST_OPENED_KEY = "lastOpened";

/** Every stored design, most recently edited first. */
export async function listDesigns(): Promise<DesignSummary[]> {
  const db = await studioDb();
  const records = await db.getAllFromIndex("designs", "by-updated");
  return records.reverse().map(({ id, name, blocks, updatedAt }) => ({ id, name, blocks, updatedAt }));
}

export async function loadDesign(id: string): Promise<DocumentOutcome> {
  // The schema check (Ajv) loads on first use, not with the app shell.
  const [db, { readDocument }] = await Promise.all([studioDb(), import("../model/document")]);
  const record = await db.get("designs", id);
  return record ? readDocument(record.document) : { ok: false, reason: `No design "${id}" is stored on this device.` };
}

/** The stored document exactly as saved (for export, even when it no longer decodes). */
export async function loadDocument(id: string): Promise<unknown> {
  const db = await studioDb();
  return (await db.get("designs", id))?.document;
}

/** Save a design, replacing any stored one with its id; returns the time it was saved. */
export async function saveDesign(design: ModelArchitecture): Promise<number> {
  const db = await studioDb();
  const updatedAt = Date.now();
  await db.put("designs", recordOf(design, updatedAt));
  return updatedAt;
}

function recordOf(design: ModelArchitecture, updatedAt: number) {
  return { id: design.id, name: design.name, blocks: design.components.length, updatedAt, document: design };
}

/** Save a design only if no design with its id is stored; returns whether it was saved. */
export async function addDesign(design: ModelArchitecture): Promise<boolean> {
  const db = await studioDb();
  try {
    await db.add("designs", recordOf(design, Date.now()));
    return true;
  } catch (error) {
    if (error instanceof DOMException && error.name === "ConstraintError") return false;
    throw error;
  }
}

export async function deleteDesign(id: string): Promise<void> {
  const db = await studioDb();
  await db.delete("designs", id);
}

export async function storedIds(): Promise<Set<string>> {
  const db = await studioDb();
  return new Set(await db.getAllKeys("designs"));
}

export async function lastOpenedId(): Promise<string | undefined> {
  const db = await studioDb();
  return db.get("settings", LAST_OPENED_KEY);
}

export async function rememberOpened(id: string): Promise<void> {
  const db = await studioDb();
  await db.put("settings", id, LAST_OPENED_KEY);
}

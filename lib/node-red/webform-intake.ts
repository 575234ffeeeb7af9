/**
 * webform in's two outputs and its counts, shared by push and fetch: a decision of the intake (lib/webform/intake.ts)
 * becomes output 1 (passed on), output 2 ("changed after delivery") or a count and a log line without personal data
 * (webform id, uuid, state and field names only).
 */
import * as metrics from '../ops/metrics';
import type { Submission } from '../sf2900/model';
import { type Decision, type IntakeSettings, INTAKE_DEFAULTS } from '../webform/intake';
import type { StatusText } from './status-text';

export interface IntakeOutputs {
  /** Output 1. */
  pass(s: Submission, inboxId?: string): void;
  /** Output 2: topic 'updated' | 'deleted', msg.changes. */
  changed(s: Submission, changes: { state: string; fields: string[]; passedAt: string; revision: number }): void;
  log(text: string): void;
}

/** The intake settings from the node's configuration (`drafts`, `updates`). */
export function intakeSettings(c: { drafts?: unknown; updates?: unknown }): IntakeSettings {
  return {
    drafts: c.drafts === 'pass' ? 'pass' : INTAKE_DEFAULTS.drafts,
    updates: c.updates === 'pass' ? 'pass' : INTAKE_DEFAULTS.updates,
  };
}

/** Counts what came in, for the status dot. */
export class IntakeCounts {
  passed = 0;
  drafts = 0;
  changed = 0;
  skipped = 0;

  /** Sends the decision's output (or logs the skip) and counts it. */
  apply(d: Decision, s: Submission, out: IntakeOutputs, inboxId?: string): void {
    const who = `${s.webform.id} submission ${s.submission.uuid}`;
    metrics.submissions.inc({ outcome: d.action === 'pass' ? 'passed' : d.action === 'changed' ? 'changed' : d.reason === 'draft' ? 'draft' : 'skipped' });
    if (d.action === 'pass') {
      this.passed++;
      if (d.revision > 0) s.submission.revision = d.revision;
      if (d.revision > 0) out.log(`webform in: ${who} changed after delivery: passed on as revision ${d.revision}`);
      out.pass(s, inboxId);
    } else if (d.action === 'changed') {
      this.changed++;
      out.log(`webform in: ${who} ${d.state} after delivery${d.fields.length ? ` (fields: ${d.fields.join(', ')})` : ''}: output 2`);
      out.changed(s, { state: d.state, fields: d.fields, passedAt: d.passedAt, revision: d.revision });
    } else {
      if (d.reason === 'draft') this.drafts++;
      else this.skipped++;
      out.log(`webform in: ${who} (${d.state}) not passed on: ${d.reason}`);
    }
  }

  /** " · 3 passed, 2 drafts, 1 changed, 1 skipped", or '' before anything came. */
  text(t: StatusText): string {
    if (!this.passed && !this.drafts && !this.changed && !this.skipped) return '';
    const { passed, drafts, changed, skipped } = this;
    return ` · ${t('counts', { passed, drafts, changed, skipped }, `${passed} passed, ${drafts} drafts, ${changed} changed, ${skipped} skipped`)}`;
  }
}

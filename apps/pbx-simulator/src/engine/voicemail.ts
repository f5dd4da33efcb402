import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppResult } from './apps';
import { Channel, ChannelState } from './channel';
import { formatLocal } from './clock';
import type { CallEngine } from './engine';
import { writeRecording } from './recording';

/**
 * VoiceMail(<mailbox>@<context>[,options]) as app_voicemail's vm_exec/leave_voicemail run it
 * with `format = wav` (docker/asterisk/voicemail.conf) and realtime mailboxes (table
 * `voicemail`). Derived from apps/app_voicemail.c of 22.10.1, not recorded:
 *
 * - no such mailbox: VMSTATUS=FAILED, the dial plan goes on;
 * - else the channel is answered and the caller talks until it hangs up (the simulated caller:
 *   after the talk time; HangupRequest without a Cause, the channel keeping its Dial's cause);
 *   then the message is stored as `<spool>/<context>/<mailbox>/INBOX/msgNNNN.wav` with its
 *   `msgNNNN.txt`, VM_MESSAGEFILE set, the MWI published (MessageWaiting, with the channel;
 *   with res_mwi_devstate loaded, `MWI:<box>` INUSE with the first new message), VMSTATUS=SUCCESS,
 *   and the app returns -1 (fixtures 40, 41, 43, 49).
 *
 * Greetings and the beep are not played (no media here): recording starts at once.
 */
export async function voicemail(engine: CallEngine, ch: Channel, data: string): Promise<AppResult> {
  // Options (u/b: which greeting) change nothing here: no greeting is played.
  const [boxSpec = ''] = data.split(',');
  const [mailbox, context = 'default'] = boxSpec.split('@').map((p) => p.trim());
  // Names become folders of the spool: nothing that could leave it.
  const safe = (n: string) => /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}$/.test(n) && !n.includes('..');
  const box = mailbox && safe(mailbox) && safe(context) ? await engine.realtime.findMailbox(context, mailbox) : undefined;
  if (!box) {
    engine.log.warn(`${ch.name}: VoiceMail: no mailbox ${mailbox}@${context}`);
    engine.setVar(ch, 'VMSTATUS', 'FAILED');
    return 'continue';
  }
  if (ch.state !== ChannelState.Up) {
    engine.answer(ch);
    engine.indicate(ch, 'answer');
  }
  const started = engine.now();
  ch.inVoicemail = true;
  // A caller that hangs up by itself (a phone's or the PSTN's call) talks until it does: after the
  // talk time. Else (the phone an Originate rang, which sends no audio and stays on the line) the
  // message ends on silence (voicemail.conf maxsilence) after the talk time, no hang-up from the
  // caller: the app hangs up (fixture 49).
  if ((await engine.clock.sleep(engine.config.talkMs, ch.signal)) === 'elapsed' && ch.hangsUpAfterTalk) engine.remoteHangup(ch, 16);
  const seconds = Math.max(0, engine.now() - started) / 1000;
  const dir = path.join(engine.config.voicemailDir, context, mailbox, 'INBOX');
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((f) => /^msg\d{4}\.wav$/.test(f)).length;
  const base = path.join(dir, `msg${String(existing).padStart(4, '0')}`);
  await writeRecording(`${base}.wav`, seconds);
  await writeFile(
    `${base}.txt`,
    [
      ';',
      '; Message Information file',
      ';',
      '[message]',
      `origmailbox=${mailbox}`,
      `context=${ch.context}`,
      `exten=${ch.exten}`,
      `rdnis=unknown`,
      `priority=${ch.priority}`,
      `callerchan=${ch.name}`,
      `callerid="${ch.callerId.name}" <${ch.callerId.num}>`,
      `origdate=${formatLocal(started)}`,
      `origtime=${Math.floor(started / 1000)}`,
      `category=`,
      `msg_id=${Math.floor(started / 1000)}-${ch.uniqueid}`,
      'flag=',
      `duration=${Math.round(seconds)}`,
      '',
    ].join('\n'),
  );
  engine.setVar(ch, 'VM_MESSAGEFILE', base);
  engine.pub.messageWaiting(ch, `${mailbox}@${context}`, existing + 1, 0);
  // res_mwi_devstate's `MWI:<box>` device, when the module is loaded (fixture 40: autoload; 46, 49: not).
  if (engine.config.mwiDevstate) engine.devices.mailboxChanged(`${mailbox}@${context}`, existing + 1);
  engine.setVar(ch, 'VMSTATUS', 'SUCCESS');
  return 'hangup';
}

export interface VoicemailMessage {
  file: string;
  seconds: number;
  callerid: string;
  origdate: string;
}

/** The messages of a mailbox's INBOX, oldest first (for tests and the control API). */
export async function listMailbox(spool: string, context: string, mailbox: string): Promise<VoicemailMessage[]> {
  const dir = path.join(spool, context, mailbox, 'INBOX');
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /^msg\d{4}\.wav$/.test(f)).sort();
  } catch {
    return [];
  }
  const out: VoicemailMessage[] = [];
  for (const f of files) {
    const info = await readFile(path.join(dir, f.replace(/\.wav$/, '.txt')), 'utf8').catch(() => '');
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(info)?.[1] ?? '';
    out.push({ file: path.join(dir, f), seconds: Number(field('duration')) || 0, callerid: field('callerid'), origdate: field('origdate') });
  }
  return out;
}

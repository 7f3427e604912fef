// A training process for kill_test.ts to SIGKILL: trains a tiny net into a logdir
// with a checkpoint and a summary on every step, and prints what it is doing, one
// line per event, so the parent knows which phase a kill interrupted:
//   restored N                  the run resumed from checkpoint N (absent on a fresh start)
//   step N                      the global step after an update
//   saved N                     checkpoint N is complete (rename done)
//   W+ name / W- name           an atomic write (checkpoint, state file, model) begins / ends
//   A+ / A- / S+ / S-           an event-file append / sync begins / ends
//   done N                      the run finished normally
// Usage: trainer_child.ts <logdir> <numberOfSteps>
import "../../src/ops/mod.ts";
import { writeSync } from "node:fs";
import { basename } from "node:path";
import type { AppendHandle, FileContent, FileSystem, StagedFile } from "../../src/fs/types.ts";
import { NodeFileSystem } from "../../src/fs/node_fs.ts";
import { train } from "../../src/learning/train.ts";
import { buildTinyModel, tinyBatchesFrom } from "./tiny_model.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const [logdir, stepsArg] = args;
if (!logdir || !stepsArg) throw new Error("usage: trainer_child.ts <logdir> <numberOfSteps>");

// writeSync to fd 1: a line is out of the process before the next thing happens,
// which console.log does not promise on every runtime when stdout is a pipe.
const say = (line: string) => void writeSync(1, line + "\n");

/** Reports the start and end of every write, so a kill can be placed in a phase. */
class TracingFileSystem extends NodeFileSystem {
  override async writeFileAtomic(path: string, data: FileContent): Promise<void> {
    say(`W+ ${basename(path)}`);
    await super.writeFileAtomic(path, data);
    say(`W- ${basename(path)}`);
  }

  /** A checkpoint: W+ when its bytes start, W- once it is durable under its name (steps may run in between). */
  override async stageFileAtomic(path: string, content: FileContent): Promise<StagedFile> {
    say(`W+ ${basename(path)}`);
    const staged = await super.stageFileAtomic(path, content);
    return {
      commit: async () => {
        await staged.commit();
        say(`W- ${basename(path)}`);
      },
      discard: () => staged.discard(),
    };
  }

  override async openAppend(path: string): Promise<AppendHandle> {
    const h = await super.openAppend(path);
    return {
      write: async (d) => {
        say("A+");
        await h.write(d);
        say("A-");
      },
      sync: async () => {
        say("S+");
        await h.sync();
        say("S-");
      },
      close: () => h.close(),
    };
  }
}

const fs: FileSystem = new TracingFileSystem();
await train(buildTinyModel().trainOp, logdir, {
  data: tinyBatchesFrom,
  numberOfSteps: Number(stepsArg),
  saveIntervalSecs: 0,
  saveSummariesSecs: 0,
  logEveryNSteps: 0,
  handleSignals: false,
  intraOpNumThreads: 1,
  fs,
  onStep: ({ step }) => say(`step ${step}`),
  log: (line) => {
    const saved = /^Saved .*model\.ckpt-(\d+)/.exec(line);
    const restored = /^Restored .*\(global step (\d+)\)/.exec(line);
    if (saved) say(`saved ${saved[1]}`);
    else if (restored) say(`restored ${restored[1]}`);
    else say(`log ${line}`);
  },
});
say(`done ${stepsArg}`);
const exit = (globalThis as { Deno?: { exit(c: number): never } }).Deno?.exit ?? process.exit;
exit(0);

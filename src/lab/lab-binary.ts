/**
 * The smallest programs a lab image can run, as static x86-64 Linux executables built byte by byte: one that
 * waits for a signal forever (a session that keeps running) and one that exits at once with code 1 (an image
 * whose container dies on start). No toolchain and no base image: a session container stays a few bytes.
 */

/** What the lab image's entrypoint does. */
export type LabProgram = "stays" | "exits";

const BASE = 0x400000;
const HEADERS = 64 + 56;

/** Machine code: `pause()` in a loop, or `exit(1)`. */
const CODE: Record<LabProgram, number[]> = {
  // mov eax, 34 (pause); syscall; jmp back to the mov
  stays: [0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7],
  // mov eax, 60 (exit); mov edi, 1; syscall
  exits: [0xb8, 0x3c, 0, 0, 0, 0xbf, 0x01, 0, 0, 0, 0x0f, 0x05],
};

/** A static ELF64 executable for linux/amd64 running `program`: one loadable segment, no sections. */
export function labExecutable(program: LabProgram): Buffer {
  const code = Buffer.from(CODE[program]);
  const file = Buffer.alloc(HEADERS + code.length);
  // ELF header: magic, 64-bit, little-endian, version 1, System V.
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(file, 0);
  file.writeUInt16LE(2, 16); // ET_EXEC
  file.writeUInt16LE(0x3e, 18); // x86-64
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(BigInt(BASE + HEADERS), 24); // entry
  file.writeBigUInt64LE(64n, 32); // program headers follow the ELF header
  file.writeUInt16LE(64, 52);
  file.writeUInt16LE(56, 54);
  file.writeUInt16LE(1, 56);
  // Program header: PT_LOAD, read + execute, the whole file at BASE.
  file.writeUInt32LE(1, 64);
  file.writeUInt32LE(5, 68);
  file.writeBigUInt64LE(0n, 72);
  file.writeBigUInt64LE(BigInt(BASE), 80);
  file.writeBigUInt64LE(BigInt(BASE), 88);
  file.writeBigUInt64LE(BigInt(file.length), 96);
  file.writeBigUInt64LE(BigInt(file.length), 104);
  file.writeBigUInt64LE(0x1000n, 112);
  code.copy(file, HEADERS);
  return file;
}

#!/usr/bin/env node
/**
 * Import cycles, type-only imports included, over the TypeScript import graph of the given
 * folders (default: every source folder). `npm run lint` runs it; it prints each cycle and exits 1
 * when there is one. Plain JavaScript on the TypeScript compiler API, so it needs no build step and
 * no extra dependency (madge would find the same cycles).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const SOURCE_FOLDERS = [
  'protocol',
  'client',
  'lambdas',
  'infra',
  'cli',
  'web/src',
  'tools',
  'bench',
  'scripts',
];

const OPTIONS = {
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  module: ts.ModuleKind.ESNext,
  allowJs: true,
};

function sourceFiles(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|mts|svelte\.ts)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Every import of each file (static, dynamic, type-only, re-exports) that resolves to a file of the graph. */
export function importGraph(root, folders = SOURCE_FOLDERS) {
  const files = folders.flatMap((folder) => {
    try {
      return sourceFiles(resolve(root, folder));
    } catch {
      return [];
    }
  });
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set();
    for (const { fileName } of info.importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, OPTIONS, ts.sys).resolvedModule;
      if (resolved && known.has(resolved.resolvedFileName)) targets.add(resolved.resolvedFileName);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** The strongly connected components with more than one file (or a file importing itself): Tarjan. */
export function cyclesOf(graph) {
  let index = 0;
  const indexes = new Map();
  const lows = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (node) => {
    indexes.set(node, index);
    lows.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next);
        lows.set(node, Math.min(lows.get(node), lows.get(next)));
      } else if (onStack.has(next)) lows.set(node, Math.min(lows.get(node), indexes.get(next)));
    }
    if (lows.get(node) !== indexes.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node))
      cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), '../..');
  const folders = process.argv.slice(2);
  const cycles = cyclesOf(importGraph(root, folders.length > 0 ? folders : SOURCE_FOLDERS));
  for (const cycle of cycles)
    console.error(`Import cycle: ${cycle.map((file) => relative(root, file)).join(' ↔ ')}`);
  if (cycles.length > 0) {
    console.error(
      `${cycles.length} import cycle(s), type-only imports included: move what both sides need into a third file.`,
    );
    process.exit(1);
  }
}

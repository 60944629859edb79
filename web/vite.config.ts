import { defineConfig } from 'vite';

// Deterministic output: content-hashed file names only, no timestamps, no
// source maps. The editor (CodeMirror) is split into its own lazily loaded
// chunk so that the first load stays small.
export default defineConfig({
  base: '/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: process.env.FLOWD_WEB_OUT_DIR || 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1000,
  },
});

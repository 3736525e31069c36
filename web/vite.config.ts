import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig(({ command, mode }) => ({
  plugins: [svelte()],
  // A production build refuses the test-only weak key-derivation setting (client/crypto/kdf-settings.ts).
  define: {
    __CIPHERLINE_PRODUCTION__: JSON.stringify(command === 'build' && mode === 'production'),
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
}));

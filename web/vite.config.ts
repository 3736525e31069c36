import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';
import { MANIFEST } from './pwa-manifest.ts';

export default defineConfig(({ command, mode }) => ({
  plugins: [
    svelte(),
    VitePWA({
      // The app asks before activating a new version (frame/StatusBanners.svelte).
      registerType: 'prompt',
      injectRegister: false,
      manifest: MANIFEST,
      includeAssets: ['icons/*.svg', 'icons/apple-touch-icon-180.png'],
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: 'index.html',
        // Same-origin proxies of the local cloud (npm start -- --https) are never the app shell.
        navigateFallbackDenylist: [/^\/ws/, /^\/s3\//, /^\/config\.json/],
        cleanupOutdatedCaches: true,
        runtimeCaching: [
          {
            // The runtime config changes per deployment: network first, the last copy offline.
            urlPattern: ({ url }) => url.pathname === '/config.json',
            handler: 'NetworkFirst',
            options: { cacheName: 'runtime-config', networkTimeoutSeconds: 5 },
          },
        ],
      },
    }),
  ],
  // A production build refuses the test-only weak key-derivation setting (client/crypto/kdf-settings.ts).
  define: {
    __CIPHERLINE_PRODUCTION__: JSON.stringify(command === 'build' && mode === 'production'),
    __CIPHERLINE_BUILD__: JSON.stringify(
      command === 'build' ? (process.env.CIPHERLINE_BUILD_ID ?? new Date().toISOString()) : 'dev',
    ),
  },
  // Module workers (Argon2id, file chunks) may import chunks of their own.
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', manifest: true },
}));

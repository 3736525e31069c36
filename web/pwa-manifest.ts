/** The web app manifest and the icons it names (PNGs rendered from the SVGs by scripts/render-icons.ts). */
import type { ManifestOptions } from 'vite-plugin-pwa';

export const THEME_COLOUR = '#0b3d2e';

/** Each PNG the manifest and index.html name: rendered from `source` at `size` px. */
export const PNG_ICONS = [
  { file: 'icons/icon-192.png', source: 'icons/icon.svg', size: 192 },
  { file: 'icons/icon-512.png', source: 'icons/icon.svg', size: 512 },
  { file: 'icons/maskable-512.png', source: 'icons/maskable.svg', size: 512 },
  { file: 'icons/apple-touch-icon-180.png', source: 'icons/maskable.svg', size: 180 },
] as const;

export const MANIFEST: Partial<ManifestOptions> = {
  id: '/',
  name: 'Cipherline',
  short_name: 'Cipherline',
  description: 'End-to-end encrypted messages, groups and files.',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  orientation: 'any',
  background_color: '#ffffff',
  theme_color: THEME_COLOUR,
  categories: ['social', 'communication'],
  icons: [
    { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
  ],
};

// Builds the console for /console/, where the API serves it; every asset is a hashed file of its own (no inline script).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    // The CSP allows no inline script; a modulepreload polyfill would be one.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});

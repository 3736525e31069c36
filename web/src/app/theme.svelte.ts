/**
 * Light, dark, or the system's choice (the default). The choice is a display preference, not
 * user data, so it lives in localStorage where it can be read before the first paint.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'cipherline.theme';

function stored(): ThemeChoice {
  const value = localStorage.getItem(STORAGE_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export class Theme {
  choice = $state<ThemeChoice>(stored());

  constructor() {
    this.#apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    if (choice === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, choice);
    this.#apply();
  }

  #apply(): void {
    const root = document.documentElement;
    if (this.choice === 'system') delete root.dataset.theme;
    else root.dataset.theme = this.choice;
  }
}

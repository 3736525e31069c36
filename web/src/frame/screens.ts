/**
 * Each screen is its own chunk, loaded when its route is first shown, so the initial JavaScript
 * is the frame alone (`npm run bench:web` prints both).
 */
import type { Component } from 'svelte';
import { unreachable, type RouteName } from '../app/routes';

type ScreenModule = { default: Component<Record<string, unknown>> };

export function loadScreen(name: RouteName): Promise<ScreenModule> {
  switch (name) {
    case 'chats':
      return import('../screens/chats/NoChatSelected.svelte') as Promise<ScreenModule>;
    case 'chat':
      return import('../screens/chat/ChatScreen.svelte') as Promise<ScreenModule>;
    case 'groups':
      return import('../screens/groups/GroupsScreen.svelte') as Promise<ScreenModule>;
    case 'settings':
      return import('../screens/settings/SettingsScreen.svelte') as Promise<ScreenModule>;
    case 'not-found':
      return import('../screens/not-found/NotFoundScreen.svelte') as Promise<ScreenModule>;
    default:
      return unreachable(name);
  }
}

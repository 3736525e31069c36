/**
 * Each screen is its own chunk, loaded when its route is first shown, so the initial JavaScript
 * is the frame alone (`npm run bench:web` prints both). Screens that need an account show "sign
 * in first" while nobody is signed in.
 */
import type { Component } from 'svelte';
import { unreachable, type RouteName } from '../app/routes';

type ScreenModule = { default: Component<Record<string, unknown>> };

const signInFirst = () =>
  import('../screens/signed-out/SignInFirst.svelte') as Promise<ScreenModule>;

export function loadScreen(name: RouteName, signedIn: boolean): Promise<ScreenModule> {
  switch (name) {
    case 'chats':
      return import('../screens/chats/NoChatSelected.svelte') as Promise<ScreenModule>;
    case 'chat':
      if (!signedIn) return signInFirst();
      return import('../screens/chat/ChatScreen.svelte') as Promise<ScreenModule>;
    case 'new':
      if (!signedIn) return signInFirst();
      return import('../screens/new-chat/NewChatScreen.svelte') as Promise<ScreenModule>;
    case 'groups':
      if (!signedIn) return signInFirst();
      return import('../screens/groups/GroupsScreen.svelte') as Promise<ScreenModule>;
    case 'group':
      if (!signedIn) return signInFirst();
      return import('../screens/group/GroupScreen.svelte') as Promise<ScreenModule>;
    case 'safety':
      if (!signedIn) return signInFirst();
      return import('../screens/safety/SafetyScreen.svelte') as Promise<ScreenModule>;
    case 'settings':
      return import('../screens/settings/SettingsScreen.svelte') as Promise<ScreenModule>;
    case 'not-found':
      return import('../screens/not-found/NotFoundScreen.svelte') as Promise<ScreenModule>;
    default:
      return unreachable(name);
  }
}

/** Placeholder rows until the client session provides real chats. */
export const EXAMPLE_CHATS = [
  { id: 'example-alice', title: 'Alice (example)', preview: 'Messages appear here.' },
  { id: 'example-team', title: 'team (example group)', preview: '4 members' },
] as const;

/**
 * Keeps other tabs of the app in step: each save and delete is announced on a BroadcastChannel
 * (which never echoes a message back to the tab that sent it).
 */
export const CHANNEL_NAME = "model-studio-designs";

export type DesignEvent = { type: "saved"; id: string; updatedAt: number } | { type: "deleted"; id: string };

export interface DesignChannel {
  announce(event: DesignEvent): void;
  close(): void;
}

export function openDesignChannel(onEvent: (event: DesignEvent) => void): DesignChannel {
  const channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (message: MessageEvent<DesignEvent>) => onEvent(message.data);
  return {
    announce: (event) => channel.postMessage(event),
    close: () => channel.close(),
  };
}

/** The app's Entra ID credential, loaded on first use (most local runs never need `@azure/identity`). */
import type { TokenCredential } from '@azure/identity';

let credential: Promise<TokenCredential> | undefined;

/** One `DefaultAzureCredential` per process (it caches tokens); a user-assigned identity when `clientId` is set. */
export function azureCredential(clientId: string | undefined): Promise<TokenCredential> {
  credential ??= import('@azure/identity').then(
    ({ DefaultAzureCredential }) => new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
  );
  return credential;
}

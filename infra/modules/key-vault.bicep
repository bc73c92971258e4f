// The publisher's signing key for full-size composites: an EC P-256 key in a Key Vault with Azure RBAC, which
// the function's identity may read (its public half) and sign with, and nothing else: no update, backup,
// export, encrypt or wrap, which the built-in Key Vault Crypto User role would also grant.
// https://learn.microsoft.com/azure/key-vault/general/rbac-guide

param name string
param location string
param tags object

@description('Principal id of the function app\'s user-assigned identity.')
param functionPrincipalId string

@description('Days a deleted vault (or key) can be recovered, 7 to 90. While it lasts, the vault\'s name stays taken: `azd down --purge` frees it at once unless purge protection is on.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionDays int = 7

@description('Purge protection: a deleted vault cannot be purged before softDeleteRetentionDays have passed, so the same environment cannot be provisioned again until then. Irreversible once on (Key Vault refuses false afterwards).')
param purgeProtection bool = false

@description('Reachable only through a private endpoint and trusted Azure services (main.bicep\'s vnetEnabled).')
param privateNetworkOnly bool = false

// The custom role's only data actions, named as Microsoft's Key Vault operations list them
// (https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault):
// read a key's properties and public material, and sign a digest with it. The signer reads the key to
// learn its algorithm, then asks Key Vault to sign; the private key never leaves the vault.
var signerDataActions = [
  'Microsoft.KeyVault/vaults/keys/read'
  'Microsoft.KeyVault/vaults/keys/sign/action'
]

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionDays
    // Key Vault accepts only true or nothing here: false is sent as null (off).
    enablePurgeProtection: purgeProtection ? true : null
    // As for storage: private endpoint plus trusted services; the firewall denies every network.
    publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworkOnly ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' = {
  parent: vault
  name: 'publisher-signing'
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
  }
}

// A custom role, assignable in this resource group only; its name carries the group's id so that two
// environments in one tenant do not collide (role names are unique per tenant).
resource signerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'publisher-key-signer')
  properties: {
    roleName: 'Publisher Key Signer (${resourceGroup().id})'
    description: 'Read a Key Vault key\'s public material and sign digests with it; nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: signerDataActions
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource signer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signingKey.id, functionPrincipalId, signerRole.id)
  scope: signingKey
  properties: {
    roleDefinitionId: signerRole.id
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output id string = vault.id
output signerUri string = signingKey.properties.keyUriWithVersion

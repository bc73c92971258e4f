// Network isolation (main.bicep's vnetEnabled), as Microsoft's Flex Consumption + Event Grid quickstart
// (Azure-Samples/functions-quickstart-typescript-azd-eventgrid-blob, infra/app/vnet.bicep and
// storage-PrivateEndpoint.bicep) does it: a virtual network with a subnet delegated to Microsoft.App/environments
// for the function app's VNet integration, and a subnet of private endpoints, each with a private DNS zone
// linked to the network so that the usual host names resolve to the private addresses. Here the endpoints are
// the storage account's blob and queue services (the pipeline's data, AzureWebJobsStorage, the deployment
// package) and the Azure OpenAI account; main.bicep turns public network access off on both.

@description('Name of the virtual network; also the prefix of the private endpoints\' names.')
param name string

param location string
param tags object = {}

@description('Resource id of the storage account (blob and queue endpoints).')
param storageAccountId string

@description('Resource id of the Azure OpenAI account. It may live in another region: a private endpoint can reach it across regions.')
param openAiAccountId string

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

// The private DNS zone of each private link sub-resource, for the public cloud: Microsoft's "Azure Private
// Endpoint private DNS zone values" (blob, queue, and Azure OpenAI's `account`).
var endpoints = [
  {
    name: 'blob'
    target: storageAccountId
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    name: 'queue'
    target: storageAccountId
    groupId: 'queue'
    zone: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    name: 'openai'
    target: openAiAccountId
    groupId: 'account'
    zone: 'privatelink.openai.azure.com'
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2025-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.0.0.0/16'
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: '10.0.1.0/24'
          // Flex Consumption's VNet integration needs a subnet delegated to Microsoft.App/environments.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: '10.0.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for e in endpoints: {
    name: e.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (e, i) in endpoints: {
    parent: zones[i]
    name: name
    location: 'global'
    tags: tags
    properties: {
      virtualNetwork: {
        id: vnet.id
      }
      registrationEnabled: false
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-09-01' = [
  for e in endpoints: {
    name: '${name}-${e.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: '${vnet.id}/subnets/${privateEndpointSubnetName}'
      }
      privateLinkServiceConnections: [
        {
          name: e.name
          properties: {
            privateLinkServiceId: e.target
            groupIds: [
              e.groupId
            ]
          }
        }
      ]
    }
  }
]

// The zone group writes each endpoint's A record into its zone.
resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-09-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.name
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output name string = vnet.name

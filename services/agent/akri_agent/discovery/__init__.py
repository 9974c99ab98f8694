"""Discovery: endpoints, one request per Configuration, merged device lists, desired Instances."""

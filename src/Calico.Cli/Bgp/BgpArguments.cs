using System.CommandLine;
using System.Globalization;
using System.Net;
using Calico.Cli.CommandLine;
using Calico.Model.Validation;

namespace Calico.Cli.Bgp;

/// <summary>What the BGP commands share: how an address and an AS number are read, and how a refusal is told.</summary>
internal static class BgpArguments
{
    public static readonly Option<string> Address = CliOptions.Text("--address", "ip", "the peer's IPv4 or IPv6 address, which names it (required)");

    public static IPAddress RequiredAddress(CliContext context)
    {
        var text = context.Options.GetValue(Address);
        if (string.IsNullOrWhiteSpace(text)) throw new CliUsageException("--address is required: the peer's IPv4 or IPv6 address");
        // IPv4 only in its full dotted form (the parser would take "10.1" as 10.0.0.1); IPv6 in any spelling, stored canonical.
        return IPAddress.TryParse(text.Trim(), out var address)
               && (address.ToString() == text.Trim() || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && text.Contains(':')))
            ? address
            : throw new CliUsageException($"--address '{text}' is not an IP address (for example 172.18.9.1 or 2001:db8:9::1)");
    }

    /// <summary>An AS number, 1..4294967295 (4-byte ASNs, plain or as "high.low").</summary>
    public static uint? AsNumber(string option, string? text)
    {
        if (text is null) return null;
        var dot = text.IndexOf('.');
        if (dot > 0 && ushort.TryParse(text[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
            && ushort.TryParse(text[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
            && (high | low) != 0)
            return ((uint)high << 16) | low;
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= uint.MaxValue)
            return (uint)value;
        throw new CliUsageException($"{option} '{text}' is not an AS number: it must be 1..4294967295");
    }

    /// <summary>
    /// Runs a write; the cluster's refusal (invalid, already there, not there) is printed in its words with exit 2
    /// (1 for something not there), nothing having been stored.
    /// </summary>
    public static async Task<int> RefusedAsync(CliContext context, string command, Func<Task> write)
    {
        try
        {
            await write();
            return ExitCodes.Ok;
        }
        catch (InvalidInputException ex)
        {
            await context.Error.WriteLineAsync($"calicoctl {command}: refused, nothing stored: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (ResourceConflictException ex)
        {
            await context.Error.WriteLineAsync($"calicoctl {command}: refused, nothing stored: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (ResourceNotFoundException ex)
        {
            await context.Error.WriteLineAsync($"calicoctl {command}: {ex.Message}");
            return ExitCodes.ProblemsRemain;
        }
    }
}
